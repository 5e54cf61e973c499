package httpparse

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// recorder writes everything a Conn reports as text, one line per call,
// so two runs can be compared and goldens can be read.
type recorder struct {
	b bytes.Buffer
}

func (r *recorder) Request(m *Request) {
	fmt.Fprintf(&r.b, "request %s %q %s", m.Method, m.Target, m.Proto)
	if m.Authority != nil {
		fmt.Fprintf(&r.b, " authority=%q", m.Authority)
	}
	r.msg(&m.Message)
}

func (r *recorder) Response(m *Response) {
	fmt.Fprintf(&r.b, "response %d %q %s", m.Status, m.Reason, m.Proto)
	if m.Request != nil {
		fmt.Fprintf(&r.b, " answers=%s %q", m.Request.Method, m.Request.Target)
	} else {
		r.b.WriteString(" answers=none")
	}
	r.msg(&m.Message)
}

func (r *recorder) msg(m *Message) {
	if m.StreamID != 0 {
		fmt.Fprintf(&r.b, " stream=%d", m.StreamID)
	}
	fmt.Fprintf(&r.b, " clen=%d chunked=%v bytes=%d", m.ContentLength, m.Chunked, m.BodyBytes)
	if m.Encoding != "" {
		fmt.Fprintf(&r.b, " encoding=%q", m.Encoding)
	}
	if m.Flags != 0 {
		fmt.Fprintf(&r.b, " flags=%s", flagString(m.Flags))
	}
	fmt.Fprintf(&r.b, " t=%d..%d\n", m.Start.UnixMilli()%100000, m.End.UnixMilli()%100000)
	for _, h := range m.Headers {
		fmt.Fprintf(&r.b, "\t%q: %q\n", h.Name, h.Value)
	}
	if len(m.Body) > 0 {
		body := m.Body
		if len(body) > 256 {
			body = body[:256]
		}
		fmt.Fprintf(&r.b, "\tbody[%d] %q\n", len(m.Body), body)
	}
}

func (r *recorder) Event(e Event) {
	fmt.Fprintf(&r.b, "event %s dir=%d", kindString(e.Kind), e.Dir)
	if e.Reason != ReasonNone {
		fmt.Fprintf(&r.b, " reason=%s", e.Reason)
	}
	if e.Status != 0 {
		fmt.Fprintf(&r.b, " status=%d", e.Status)
	}
	if e.Proto != nil {
		fmt.Fprintf(&r.b, " proto=%q", e.Proto)
	}
	if e.Request != nil {
		fmt.Fprintf(&r.b, " request=%s %q", e.Request.Method, e.Request.Target)
	}
	r.b.WriteByte('\n')
}

func flagString(f Flags) string {
	names := []string{"gap", "truncated", "close-delimited", "incomplete", "decode-error",
		"folded", "upgrade", "bad-framing"}
	var parts []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			parts = append(parts, n)
		}
	}
	return strings.Join(parts, "|")
}

func kindString(k EventKind) string {
	switch k {
	case EventError:
		return "error"
	case EventResync:
		return "resync"
	case EventUpgrade:
		return "upgrade"
	case EventTunnel:
		return "tunnel"
	case EventH2C:
		return "h2c"
	case EventInterim:
		return "interim"
	case EventNoResponse:
		return "no-response"
	case EventGoAway:
		return "goaway"
	}
	return "kind" + strconv.Itoa(int(k))
}

// step is one action of a scripted connection.
type step struct {
	dir  Dir
	data []byte
	gap  int // when data is nil: a gap of gap bytes (-1 unknown)
}

// parseScript reads the .http format: directive lines start with "@@".
//
//	@@ 0 crlf   following lines, each ended by CRLF, are sent by direction 0
//	@@ 1 lf     the same with bare LF line ends
//	@@ 0 raw    the following lines as they are, newlines included, minus
//	            the newline right before the next directive
//	@@ 1 hex    hex digits, whitespace ignored
//	@@ gap 0 12 twelve bytes of direction 0 are lost (-1: unknown)
//
// Lines before the first directive are comments.
func parseScript(t testing.TB, in []byte) []step {
	var steps []step
	var cur *step
	var mode string
	var lines []string
	flush := func() {
		if cur == nil {
			return
		}
		switch mode {
		case "crlf":
			for _, l := range lines {
				cur.data = append(cur.data, l...)
				cur.data = append(cur.data, '\r', '\n')
			}
		case "lf":
			for _, l := range lines {
				cur.data = append(cur.data, l...)
				cur.data = append(cur.data, '\n')
			}
		case "raw":
			cur.data = []byte(strings.Join(lines, "\n"))
		case "hex":
			s := strings.Join(strings.Fields(strings.Join(lines, " ")), "")
			b, err := hex.DecodeString(s)
			if err != nil {
				t.Fatalf("hex section: %v", err)
			}
			cur.data = b
		default:
			t.Fatalf("unknown section mode %q", mode)
		}
		steps = append(steps, *cur)
		cur, lines = nil, nil
	}
	for _, l := range strings.Split(string(in), "\n") {
		if !strings.HasPrefix(l, "@@ ") {
			if cur != nil {
				lines = append(lines, l)
			}
			continue
		}
		flush()
		f := strings.Fields(l[3:])
		if len(f) >= 3 && f[0] == "gap" {
			d, _ := strconv.Atoi(f[1])
			n, _ := strconv.Atoi(f[2])
			steps = append(steps, step{dir: Dir(d), gap: n})
			continue
		}
		if len(f) != 2 {
			t.Fatalf("bad directive %q", l)
		}
		d, _ := strconv.Atoi(f[0])
		cur, mode = &step{dir: Dir(d), data: []byte{}}, f[1]
	}
	// The file's final newline ends the last line, it is not content.
	if cur != nil && len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	flush()
	return steps
}

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// run feeds steps to a fresh Conn, each step's data cut by split (nil:
// whole), and returns the transcript.
func run(cfg *Config, steps []step, split func(n int) []int) string {
	rec := &recorder{}
	c := NewConn(cfg, rec)
	replaySplit(c, steps, split)
	return transcript(rec, c)
}

func replaySteps(c *Conn, steps []step) { replaySplit(c, steps, nil) }

func replaySplit(c *Conn, steps []step, split func(n int) []int) {
	for i, s := range steps {
		ts := epoch.Add(time.Duration(i) * time.Millisecond)
		if s.data == nil {
			c.Gap(s.dir, s.gap, ts)
			continue
		}
		if split == nil {
			c.Feed(s.dir, s.data, ts)
			continue
		}
		off := 0
		for _, n := range split(len(s.data)) {
			// Copy each piece so a parser that kept a view past Feed
			// would read garbage and fail the comparison.
			piece := append([]byte(nil), s.data[off:off+n]...)
			c.Feed(s.dir, piece, ts)
			for j := range piece {
				piece[j] = 0xAA
			}
			off += n
		}
	}
	c.Close(epoch.Add(time.Duration(len(steps)) * time.Millisecond))
}

// transcript ends rec's text with c's counters.
func transcript(rec *recorder, c *Conn) string {
	st := c.Stats()
	fmt.Fprintf(&rec.b, "stats requests=%d responses=%d unanswered=%d resyncs=%d gaps=%d",
		st.Requests, st.Responses, st.Unanswered, st.Resyncs, st.Gaps)
	for r, n := range st.Errors {
		if n > 0 {
			fmt.Fprintf(&rec.b, " %s=%d", Reason(r), n)
		}
	}
	if d, ok := c.ClientDir(); ok {
		fmt.Fprintf(&rec.b, " client=%d", d)
	}
	rec.b.WriteByte('\n')
	return rec.b.String()
}
