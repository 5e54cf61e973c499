package reasm

import (
	"bytes"
	"math/rand"
	"testing"
	"time"
)

// recorder is a Sink that keeps what it was given.
type recorder struct {
	data []byte
	gaps []int
}

func (r *recorder) Data(b []byte, _ time.Time) { r.data = append(r.data, b...) }
func (r *recorder) Gap(n int, _ time.Time) {
	r.gaps = append(r.gaps, n)
	r.data = append(r.data, bytes.Repeat([]byte{'#'}, n)...)
}

type seg struct {
	off int
	n   int
	fin bool
}

func TestStream(t *testing.T) {
	payload := []byte("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: y\r\n\r\n")
	const isn = 0xfffffff0 // close to wrapping, to exercise modular comparisons
	tests := []struct {
		name  string
		segs  []seg
		acks  map[int]int // after segment i, the peer acks up to this offset
		want  string
		gaps  []int
		retx  int64
		flush bool
	}{
		{name: "in order", segs: []seg{{0, 10, false}, {10, 20, false}, {30, len(payload) - 30, true}},
			want: string(payload)},
		{name: "out of order", segs: []seg{{10, 20, false}, {0, 10, false}, {30, len(payload) - 30, false}},
			want: string(payload)},
		{name: "retransmission and overlap", segs: []seg{{0, 10, false}, {0, 10, false}, {5, 20, false},
			{25, len(payload) - 25, false}}, want: string(payload), retx: 15},
		{name: "loss revealed by ack", segs: []seg{{0, 10, false}, {20, 10, false}},
			acks: map[int]int{1: 30}, want: string(payload[:10]) + "##########" + string(payload[20:30]),
			gaps: []int{10}},
		{name: "loss flushed at end", segs: []seg{{0, 10, false}, {20, 10, false}}, flush: true,
			want: string(payload[:10]) + "##########" + string(payload[20:30]), gaps: []int{10}},
		{name: "data after fin ignored", segs: []seg{{0, 10, true}, {11, 5, false}},
			want: string(payload[:10])},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Stream
			var bud Budget
			var r recorder
			s.SYN(isn)
			now := time.Unix(0, 0)
			for i, sg := range tt.segs {
				seq := uint32(isn + 1 + sg.off)
				s.Segment(seq, payload[sg.off:sg.off+sg.n], sg.fin, now, &bud, &r)
				if a, ok := tt.acks[i]; ok {
					s.PeerAck(uint32(isn+1+a), now, &bud, &r)
				}
			}
			if tt.flush {
				s.Flush(now, &bud, &r)
			}
			if string(r.data) != tt.want {
				t.Errorf("delivered %q; want %q", r.data, tt.want)
			}
			if len(r.gaps) != len(tt.gaps) || (len(r.gaps) > 0 && r.gaps[0] != tt.gaps[0]) {
				t.Errorf("gaps = %v; want %v", r.gaps, tt.gaps)
			}
			if tt.retx != 0 && s.Retransmits != tt.retx {
				t.Errorf("retransmits = %d; want %d", s.Retransmits, tt.retx)
			}
			s.Flush(now, &bud, &r)
			if bud.Held() != 0 {
				t.Errorf("budget holds %d bytes after flush; want 0", bud.Held())
			}
		})
	}
}

// TestStreamLimits checks that a stream waiting on a hole stops buffering
// at its limit and declares the hole lost instead of growing.
func TestStreamLimits(t *testing.T) {
	s := Stream{MaxBuffered: 100}
	var bud Budget
	var r recorder
	s.SYN(0)
	now := time.Unix(0, 0)
	chunk := bytes.Repeat([]byte{'a'}, 40)
	for i := 1; i <= 10; i++ { // the first 40 bytes never arrive
		s.Segment(uint32(1+40*i), chunk, false, now, &bud, &r)
		if bud.Held() > 100 {
			t.Fatalf("after segment %d the budget holds %d bytes; want ≤ 100", i, bud.Held())
		}
	}
	if len(r.gaps) == 0 || r.gaps[0] != 40 {
		t.Fatalf("gaps = %v; want the first 40 bytes declared lost", r.gaps)
	}
}

// FuzzStream feeds random permutations of segments, with duplicates; the
// stream must deliver exactly the original bytes once every segment has
// arrived, never panic, and never hold more than its limit.
func FuzzStream(f *testing.F) {
	f.Add(int64(1), uint32(0), uint8(7))
	f.Add(int64(2), uint32(0xffffff00), uint8(3))
	f.Fuzz(func(t *testing.T, seed int64, isn uint32, parts uint8) {
		rng := rand.New(rand.NewSource(seed))
		payload := make([]byte, 2000)
		rng.Read(payload)
		n := int(parts%32) + 1
		var segs []seg
		for i := 0; i < n; i++ {
			a, b := rng.Intn(len(payload)), rng.Intn(len(payload))
			if a > b {
				a, b = b, a
			}
			segs = append(segs, seg{off: a, n: b - a + 1})
		}
		segs = append(segs, seg{off: 0, n: len(payload)}) // everything arrives at last
		rng.Shuffle(len(segs)-1, func(i, j int) { segs[i], segs[j] = segs[j], segs[i] })
		s := Stream{MaxBuffered: 1 << 16}
		var bud Budget
		var r recorder
		s.SYN(isn)
		for _, sg := range segs {
			end := sg.off + sg.n
			if end > len(payload) {
				end = len(payload)
			}
			s.Segment(isn+1+uint32(sg.off), payload[sg.off:end], false, time.Time{}, &bud, &r)
		}
		s.Flush(time.Time{}, &bud, &r)
		if len(r.gaps) == 0 && !bytes.Equal(r.data, payload) {
			t.Fatalf("delivered %d bytes that differ from the %d sent", len(r.data), len(payload))
		}
		if len(r.data) != len(payload) {
			t.Fatalf("delivered %d bytes (gaps %v); want %d", len(r.data), r.gaps, len(payload))
		}
	})
}
