package sink

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// QueueConfig sizes a Queue. The zero value works (live mode).
type QueueConfig struct {
	// Capacity is the number of events the queue holds. Default 65536.
	Capacity int
	// Block makes Send wait for room instead of dropping: offline mode.
	// Default false (live mode: drop and count).
	Block bool
	// MaxBatch is the most events handed to one Sink.Write. Default 4096.
	MaxBatch int
	// Linger is how long the drain goroutine waits to fill a batch once it
	// has at least one event. Default 5 ms.
	Linger time.Duration
	// WriteTimeout bounds one Sink.Write. Default 30 s.
	WriteTimeout time.Duration
	Logger       *slog.Logger // nil discards
}

func (c *QueueConfig) capacity() int         { return orInt(c.Capacity, 1<<16) }
func (c *QueueConfig) maxBatch() int         { return orInt(c.MaxBatch, 4096) }
func (c *QueueConfig) linger() time.Duration { return orDur(c.Linger, 5*time.Millisecond) }
func (c *QueueConfig) writeTimeout() time.Duration {
	return orDur(c.WriteTimeout, 30*time.Second)
}

// QueueStats counts a queue's traffic.
type QueueStats struct {
	Sent, Dropped, Written, WriteErrors uint64
}

// Queue is a bounded hand-off from producers to one Sink. Send is safe for
// concurrent use.
type Queue struct {
	cfg  QueueConfig
	sink Sink
	log  *slog.Logger
	ch   chan Event

	mu     sync.RWMutex // guards closed against Send on a closed channel
	closed bool
	done   chan struct{}

	sent, dropped, written, writeErrs atomic.Uint64
}

// NewQueue starts the goroutine that drains into s.
func NewQueue(s Sink, cfg QueueConfig) *Queue {
	q := &Queue{cfg: cfg, sink: s, log: cfg.Logger, ch: make(chan Event, cfg.capacity()),
		done: make(chan struct{})}
	if q.log == nil {
		q.log = slog.New(slog.DiscardHandler)
	}
	q.log = q.log.With("component", "sink.Queue")
	go q.run()
	return q
}

// Send queues ev; the queue owns ev.Value (and returns it to the pool) from
// now on, whatever the result. In live mode a full queue drops ev and
// returns ErrDropped; in blocking mode Send waits until there is room or ctx
// is done.
func (q *Queue) Send(ctx context.Context, ev Event) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		PutBuf(ev.Value)
		return ErrClosed
	}
	if q.cfg.Block {
		select {
		case q.ch <- ev:
			q.sent.Add(1)
			return nil
		case <-ctx.Done():
			q.dropped.Add(1)
			PutBuf(ev.Value)
			return ctx.Err()
		}
	}
	select {
	case q.ch <- ev:
		q.sent.Add(1)
		return nil
	default:
		q.dropped.Add(1)
		PutBuf(ev.Value)
		return ErrDropped
	}
}

// Stats returns the counters.
func (q *Queue) Stats() QueueStats {
	return QueueStats{Sent: q.sent.Load(), Dropped: q.dropped.Load(), Written: q.written.Load(),
		WriteErrors: q.writeErrs.Load()}
}

func (q *Queue) run() {
	defer close(q.done)
	batch := make([]Event, 0, q.cfg.maxBatch())
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		ev, ok := <-q.ch
		if !ok {
			return
		}
		batch = append(batch, ev)
		timer.Reset(q.cfg.linger())
	fill:
		for len(batch) < cap(batch) {
			select {
			case ev, ok := <-q.ch:
				if !ok {
					break fill
				}
				batch = append(batch, ev)
			case <-timer.C:
				break fill
			}
		}
		timer.Stop()
		q.flush(batch)
		for i := range batch {
			PutBuf(batch[i].Value)
			batch[i] = Event{}
		}
		batch = batch[:0]
	}
}

func (q *Queue) flush(batch []Event) {
	ctx, cancel := context.WithTimeout(context.Background(), q.cfg.writeTimeout())
	defer cancel()
	if err := q.sink.Write(ctx, batch); err != nil {
		q.writeErrs.Add(1)
		q.log.Warn("sink write", "events", len(batch), "error", err)
		return
	}
	q.written.Add(uint64(len(batch)))
}

// Close stops accepting events, drains what is queued into the sink and
// closes the sink, all within ctx's deadline.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	close(q.ch)
	q.mu.Unlock()
	select {
	case <-q.done:
	case <-ctx.Done():
		q.log.Warn("queue close timed out", "queued", len(q.ch))
		return ctx.Err()
	}
	return q.sink.Close(ctx)
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}
