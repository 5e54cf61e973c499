package httpparse

import (
	"bytes"
	"io"
	"net/http/httputil"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// seedInputs adds every testdata script's byte sections to f.
func seedInputs(f *testing.F, dir Dir) {
	files, _ := filepath.Glob("testdata/*.http")
	for _, name := range files {
		in, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		var all []byte
		for _, s := range parseScript(f, in) {
			if s.data != nil && s.dir == dir {
				all = append(all, s.data...)
			}
		}
		if len(all) > 0 {
			f.Add(all)
		}
	}
}

// checkViews verifies what a fuzzed parse reported stays inside the input
// and the limits; it is the fuzzers' "offsets within input" invariant.
type checkViews struct {
	t  *testing.T
	in []byte
	// whole: the input was one chunk, so an unencoded body is a substring.
	whole bool
}

func (c checkViews) Request(m *Request) {
	c.msg(&m.Message)
	if m.Target != nil && !bytes.Contains(c.in, m.Target) && m.Proto != ProtoH2C {
		c.t.Fatalf("target %q is not in the input", m.Target)
	}
}

func (c checkViews) Response(m *Response) {
	c.msg(&m.Message)
	if m.Status < 100 || m.Status > 999 {
		c.t.Fatalf("status %d out of range", m.Status)
	}
}

func (c checkViews) msg(m *Message) {
	if len(m.Body) > defaultMaxBodyPrefix || m.BodyBytes < 0 {
		c.t.Fatalf("body prefix %d bytes, wire %d", len(m.Body), m.BodyBytes)
	}
	if len(m.Headers) > defaultMaxHeaders {
		c.t.Fatalf("%d headers over the limit", len(m.Headers))
	}
	for _, h := range m.Headers {
		if c.whole && m.Proto != ProtoH2C && m.Flags&FlagFolded == 0 &&
			(!bytes.Contains(c.in, h.Name) || !bytes.Contains(c.in, h.Value)) {
			c.t.Fatalf("header %q: %q is not in the input", h.Name, h.Value)
		}
	}
	plain := m.Encoding == "" && m.Proto != ProtoH2C && m.Flags&FlagGap == 0 && !m.Chunked
	if c.whole && plain && !bytes.Contains(c.in, m.Body) {
		c.t.Fatalf("body %q is not in the input", m.Body)
	}
}

func (c checkViews) Event(Event) {}

// fuzzSplit checks the no-panic, views and split-invariance properties for
// steps.
func fuzzSplit(t *testing.T, in []byte, steps []step) {
	c := NewConn(&Config{DecodeBodies: true}, checkViews{t, in, len(steps) == 1})
	for _, s := range steps {
		if s.data == nil {
			c.Gap(s.dir, s.gap, epoch)
		} else {
			c.Feed(s.dir, s.data, epoch)
		}
	}
	c.Close(epoch)
	whole := run(goldenConfig, steps, nil)
	byteWise := run(goldenConfig, steps, func(n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = 1
		}
		return s
	})
	if whole != byteWise {
		t.Fatalf("fed whole:\n%s\nfed byte by byte:\n%s", whole, byteWise)
	}
	if a, b := runShared(goldenConfig, steps); a != whole || b != whole {
		t.Fatalf("fed whole:\n%s\non a shared Scratch:\n%s\n%s", whole, a, b)
	}
}

// runShared parses steps twice at once, on two Conns that share a Scratch,
// alternating step by step, each step fed in two pieces.
func runShared(cfg *Config, steps []step) (string, string) {
	s := NewScratch()
	var recs [2]recorder
	var cs [2]*Conn
	for i := range cs {
		cs[i] = NewConn(cfg, &recs[i])
		cs[i].SetScratch(s)
	}
	for i, st := range steps {
		ts := epoch.Add(time.Duration(i) * time.Millisecond)
		for half := 0; half < 2; half++ {
			for _, c := range cs {
				if st.data == nil {
					if half == 0 {
						c.Gap(st.dir, st.gap, ts)
					}
					continue
				}
				d := st.data[:len(st.data)/2]
				if half == 1 {
					d = st.data[len(st.data)/2:]
				}
				b := append([]byte(nil), d...)
				c.Feed(st.dir, b, ts)
				for j := range b {
					b[j] = 0xAA
				}
			}
		}
	}
	end := epoch.Add(time.Duration(len(steps)) * time.Millisecond)
	cs[0].Close(end)
	cs[1].Close(end)
	return transcript(&recs[0], cs[0]), transcript(&recs[1], cs[1])
}

func FuzzParseRequest(f *testing.F) {
	seedInputs(f, 0)
	for _, s := range diffRequests {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzSplit(t, in, []step{{dir: 0, data: in}})
		diffRequest(t, in, false)
	})
}

func FuzzParseResponse(f *testing.F) {
	seedInputs(f, 1)
	for _, s := range diffResponses {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fuzzSplit(t, in, []step{{dir: 1, data: in}})
		diffResponse(t, in, false)
	})
}

// FuzzChunked compares chunked decoding with net/http/httputil's reader on
// bodies it accepts.
func FuzzChunked(f *testing.F) {
	f.Add([]byte("5\r\nhello\r\n0\r\n\r\n"))
	f.Add([]byte("3;ext=1\r\nabc\r\n1\nd\n0\r\nT: v\r\n\r\n"))
	f.Add([]byte("A \r\n0123456789\r\n0\r\n\r\n"))
	f.Add([]byte("ffffffffffffffffff\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		in := append([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), body...)
		fuzzSplit(t, in, []step{{dir: 1, data: in}})
		want, err := io.ReadAll(httputil.NewChunkedReader(bytes.NewReader(body)))
		if err != nil {
			return
		}
		got := parseOne(in)
		if got.resps != 1 {
			t.Fatalf("parse %q: %d responses; want 1", in, got.resps)
		}
		if got.bodyBytes != int64(len(want)) {
			t.Fatalf("parse %q: got %d body bytes; want %d", in, got.bodyBytes, len(want))
		}
		compareBody(t, in, got, want)
	})
}

// FuzzConn drives both directions with gaps. The input is a script: each
// step is an op byte (bit 0: direction, bit 1: gap), a length byte, and
// that many bytes of data (or, for a gap, the length is the gap size, 255
// meaning unknown).
func FuzzConn(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.http")
	for _, name := range files {
		in, _ := os.ReadFile(name)
		var enc []byte
		for _, s := range parseScript(f, in) {
			if s.data == nil {
				n := byte(255)
				if s.gap >= 0 && s.gap < 255 {
					n = byte(s.gap)
				}
				enc = append(enc, 2|byte(s.dir), n)
				continue
			}
			for d := s.data; len(d) > 0; {
				k := min(len(d), 254)
				enc = append(enc, byte(s.dir), byte(k))
				enc = append(enc, d[:k]...)
				d = d[k:]
			}
		}
		f.Add(enc)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var steps []step
		for p := in; len(p) >= 2; {
			op, n := p[0], int(p[1])
			p = p[2:]
			if op&2 != 0 {
				if n == 255 {
					n = -1
				}
				steps = append(steps, step{dir: Dir(op & 1), gap: n})
				continue
			}
			n = min(n, len(p))
			steps = append(steps, step{dir: Dir(op & 1), data: p[:n:n]})
			p = p[n:]
		}
		fuzzSplit(t, streams(steps), steps)
	})
}

// streams returns what the steps carry, each direction's bytes in order and
// the two directions apart by a line feed: the bytes a parse may take its
// views from. The encoded fuzz input will not do, as its framing bytes sit
// between the pieces of a field that one step cut in two.
func streams(steps []step) []byte {
	var dirs [2][]byte
	for _, s := range steps {
		dirs[s.dir&1] = append(dirs[s.dir&1], s.data...)
	}
	return append(append(dirs[0], '\n'), dirs[1]...)
}
