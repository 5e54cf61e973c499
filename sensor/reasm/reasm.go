package reasm

import (
	"time"
)

// Sink receives the bytes of one direction in order.
type Sink interface {
	// Data hands over the next bytes of the stream. b is valid only during
	// the call.
	Data(b []byte, ts time.Time)
	// Gap says that n bytes were lost before the next Data.
	Gap(n int, ts time.Time)
}

// Budget bounds the out-of-order bytes held by all the streams that share
// it. It is not safe for concurrent use: give each worker its own.
type Budget struct {
	// Limit is the most bytes held at once. Default 64 MiB.
	Limit int
	held  int
	// Exceeded counts segments not buffered because the budget was spent.
	Exceeded uint64
}

func (b *Budget) limit() int {
	if b.Limit <= 0 {
		return 64 << 20
	}
	return b.Limit
}

// Held returns how many bytes are buffered now.
func (b *Budget) Held() int { return b.held }

// segment is an out-of-order piece, kept until the bytes before it arrive.
type segment struct {
	seq  uint32
	data []byte
	ts   time.Time
	fin  bool
}

// Stream reassembles one direction of a TCP connection. The zero value is
// ready to use. It is not safe for concurrent use.
type Stream struct {
	// MaxBuffered bounds the out-of-order bytes of this stream; past it
	// the stream declares a gap instead of waiting. Default 1 MiB.
	MaxBuffered int

	init     bool
	next     uint32 // sequence number of the next byte to deliver
	ooo      []segment
	buffered int
	finSeen  bool
	done     bool // FIN delivered: later data is ignored

	// Counters for this stream.
	Delivered   int64 // bytes handed to the sink
	Lost        int64 // bytes declared lost in gaps
	Retransmits int64 // bytes received more than once
	Gaps        int64
}

// seqDiff returns a-b as a signed distance on the sequence number circle
// (RFC 9293 §3.4: comparisons are modulo 2^32).
func seqDiff(a, b uint32) int32 { return int32(a - b) }

func (s *Stream) maxBuffered() int {
	if s.MaxBuffered <= 0 {
		return 1 << 20
	}
	return s.MaxBuffered
}

// Started reports whether the stream has seen its first segment.
func (s *Stream) Started() bool { return s.init }

// Done reports whether the stream delivered its FIN.
func (s *Stream) Done() bool { return s.done }

// Next returns the sequence number the stream expects next.
func (s *Stream) Next() uint32 { return s.next }

// SYN records the initial sequence number from a SYN (the first data byte
// is isn+1). A SYN after data was seen is ignored: it is a retransmission
// or belongs to a new connection, which the flow table handles.
func (s *Stream) SYN(isn uint32) {
	if !s.init {
		s.init = true
		s.next = isn + 1
	}
}

// Segment takes one segment of this direction. fin is the segment's FIN
// flag. b may be the capture buffer: it is copied only if it must wait.
func (s *Stream) Segment(seq uint32, b []byte, fin bool, ts time.Time, bud *Budget, sink Sink) {
	if s.done {
		return
	}
	if !s.init {
		// Picked up mid-connection: the first bytes we see start the stream.
		s.init = true
		s.next = seq
	}
	d := seqDiff(seq, s.next)
	if d < 0 {
		// Starts before what we expect: a retransmission, or an overlap.
		// Keep only the new part (first copy wins, as most stacks do).
		old := int(-d)
		if old >= len(b) {
			s.Retransmits += int64(len(b))
			if fin && old == len(b) {
				s.finish()
			}
			return
		}
		s.Retransmits += int64(old)
		b = b[old:]
		seq = s.next
		d = 0
	}
	if d == 0 {
		s.deliver(b, ts, sink)
		if fin {
			s.finish()
			return
		}
		s.drain(bud, sink)
		return
	}
	// A hole before this segment.
	if len(b) == 0 && !fin {
		return
	}
	if s.buffered+len(b) > s.maxBuffered() || bud.held+len(b) > bud.limit() {
		if s.buffered+len(b) <= s.maxBuffered() {
			bud.Exceeded++
		}
		// Waiting any longer costs more than it can gain: give up the hole
		// before the first held segment (or this one) and move on.
		s.skipTo(s.firstSeq(seq), ts, sink)
		s.drain(bud, sink)
		if seqDiff(seq, s.next) >= 0 {
			s.Segment(seq, b, fin, ts, bud, sink)
		}
		return
	}
	s.insert(seq, b, fin, ts, bud)
}

// PeerAck takes the acknowledgment number the other direction carried. An
// ack beyond what we delivered means the receiver got bytes the capture
// missed: they will not be sent again, so waiting for them is pointless.
func (s *Stream) PeerAck(ack uint32, ts time.Time, bud *Budget, sink Sink) {
	if !s.init || s.done || len(s.ooo) == 0 {
		return
	}
	if seqDiff(ack, s.ooo[0].seq) >= 0 {
		s.skipTo(s.ooo[0].seq, ts, sink)
		s.drain(bud, sink)
	}
}

// Flush delivers everything held, declaring the holes between as gaps.
// Call it when the connection ends or is evicted.
func (s *Stream) Flush(ts time.Time, bud *Budget, sink Sink) {
	for len(s.ooo) > 0 && !s.done {
		s.skipTo(s.ooo[0].seq, ts, sink)
		s.drain(bud, sink)
	}
	s.release(bud)
}

// Release frees the buffered segments without delivering them.
func (s *Stream) release(bud *Budget) {
	for i := range s.ooo {
		bud.held -= len(s.ooo[i].data)
	}
	s.ooo = s.ooo[:0]
	s.buffered = 0
}

// Reset returns the stream to its zero state, releasing what it held.
func (s *Stream) Reset(bud *Budget) {
	s.release(bud)
	ooo := s.ooo
	*s = Stream{MaxBuffered: s.MaxBuffered, ooo: ooo[:0]}
}

func (s *Stream) firstSeq(seq uint32) uint32 {
	if len(s.ooo) > 0 && seqDiff(s.ooo[0].seq, seq) < 0 {
		return s.ooo[0].seq
	}
	return seq
}

func (s *Stream) deliver(b []byte, ts time.Time, sink Sink) {
	if len(b) == 0 {
		return
	}
	s.next += uint32(len(b))
	s.Delivered += int64(len(b))
	sink.Data(b, ts)
}

func (s *Stream) finish() {
	s.finSeen = true
	s.done = true
	s.next++
}

// skipTo declares the bytes up to seq lost.
func (s *Stream) skipTo(seq uint32, ts time.Time, sink Sink) {
	n := seqDiff(seq, s.next)
	if n <= 0 {
		return
	}
	s.next = seq
	s.Lost += int64(n)
	s.Gaps++
	sink.Gap(int(n), ts)
}

// insert keeps a segment that arrived ahead of a hole, sorted by sequence
// number. It copies b, which may be the capture buffer.
func (s *Stream) insert(seq uint32, b []byte, fin bool, ts time.Time, bud *Budget) {
	i := len(s.ooo)
	for i > 0 && seqDiff(s.ooo[i-1].seq, seq) > 0 {
		i--
	}
	if i > 0 && s.ooo[i-1].seq == seq && len(s.ooo[i-1].data) >= len(b) {
		s.Retransmits += int64(len(b))
		return
	}
	data := make([]byte, len(b))
	copy(data, b)
	s.ooo = append(s.ooo, segment{})
	copy(s.ooo[i+1:], s.ooo[i:])
	s.ooo[i] = segment{seq: seq, data: data, ts: ts, fin: fin}
	s.buffered += len(data)
	bud.held += len(data)
}

// drain delivers held segments that have become contiguous.
func (s *Stream) drain(bud *Budget, sink Sink) {
	for len(s.ooo) > 0 && !s.done {
		seg := s.ooo[0]
		d := seqDiff(seg.seq, s.next)
		if d > 0 {
			return
		}
		s.ooo = s.ooo[1:]
		s.buffered -= len(seg.data)
		bud.held -= len(seg.data)
		b := seg.data
		if old := int(-d); old > 0 {
			if old >= len(b) {
				s.Retransmits += int64(len(b))
				if seg.fin && old == len(b) {
					s.finish()
				}
				continue
			}
			s.Retransmits += int64(old)
			b = b[old:]
		}
		s.deliver(b, seg.ts, sink)
		if seg.fin {
			s.finish()
		}
	}
	if len(s.ooo) == 0 && cap(s.ooo) > 64 {
		s.ooo = nil // do not keep a large backing array for an idle stream
	}
}
