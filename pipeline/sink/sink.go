package sink

import (
	"context"
	"errors"
	"sync"
)

// Errors returned by queues and sinks.
var (
	// ErrClosed means the queue or sink was closed.
	ErrClosed = errors.New("sink: closed")
	// ErrDropped means a live-mode queue was full and the event was dropped.
	ErrDropped = errors.New("sink: queue full, event dropped")
)

// Event is one encoded OCSF event on its way out.
type Event struct {
	Class int    // OCSF class_uid: 2004, 2006 or 6003; selects the Kafka topic
	Key   []byte // finding uid, or endpoint/vendor id
	Value []byte // one JSON object, no trailing newline
}

// Sink delivers batches of events. Write returns once the batch is durable
// as far as the sink can make it (written, acknowledged by Kafka or spooled);
// it must not keep evs or their bytes after returning. Implementations are
// called from one goroutine at a time.
type Sink interface {
	Write(ctx context.Context, evs []Event) error
	// Close flushes what the sink holds and releases it, giving up when
	// ctx is done.
	Close(ctx context.Context) error
}

// bufPool recycles event buffers across the producer/sink boundary.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// GetBuf returns an empty buffer for encoding one event. Hand it to a Queue
// as an Event's Value (the queue returns it to the pool), or PutBuf it.
func GetBuf() []byte { return (*bufPool.Get().(*[]byte))[:0] }

// PutBuf returns a buffer to the pool. b must not be used afterwards.
func PutBuf(b []byte) {
	if cap(b) > 1<<20 {
		return // let unusually large buffers go
	}
	b = b[:0]
	bufPool.Put(&b)
}
