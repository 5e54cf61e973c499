package httpparse

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestScratchShared parses every testdata input at once, one Conn per
// input, all sharing one Scratch, feeding small pieces from connections
// picked at random: bodies of many connections are in flight together, in
// buffers lent by the Scratch. Each transcript must match the parse on a
// Conn of its own.
func TestScratchShared(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.http")
	type piece struct {
		dir  Dir
		data []byte
		gap  int
		ts   time.Time
	}
	type stream struct {
		name   string
		rec    *recorder
		c      *Conn
		pieces []piece
		end    time.Time
		want   string
	}
	rng := rand.New(rand.NewSource(3))
	s := NewScratch()
	var all []*stream
	for round := 0; round < 2; round++ { // twice: the second round reuses warm buffers
		for _, f := range files {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			steps := parseScript(t, in)
			st := &stream{name: filepath.Base(f), rec: &recorder{},
				want: run(goldenConfig, steps, nil),
				end:  epoch.Add(time.Duration(len(steps)) * time.Millisecond)}
			st.c = NewConn(goldenConfig, st.rec)
			st.c.SetScratch(s)
			for i, sp := range steps {
				ts := epoch.Add(time.Duration(i) * time.Millisecond)
				if sp.data == nil {
					st.pieces = append(st.pieces, piece{dir: sp.dir, gap: sp.gap, ts: ts})
					continue
				}
				for d := sp.data; len(d) > 0; {
					k := 1 + rng.Intn(min(len(d), 64))
					st.pieces = append(st.pieces, piece{dir: sp.dir, data: d[:k], ts: ts})
					d = d[k:]
				}
			}
			all = append(all, st)
		}
	}
	for live := len(all); live > 0; {
		st := all[rng.Intn(len(all))]
		if len(st.pieces) == 0 {
			continue
		}
		p := st.pieces[0]
		st.pieces = st.pieces[1:]
		if p.data == nil {
			st.c.Gap(p.dir, p.gap, p.ts)
		} else {
			// A copy, overwritten after the call, as in replaySplit.
			b := append([]byte(nil), p.data...)
			st.c.Feed(p.dir, b, p.ts)
			for j := range b {
				b[j] = 0xAA
			}
		}
		if len(st.pieces) == 0 {
			st.c.Close(st.end)
			live--
		}
	}
	for _, st := range all {
		if got := transcript(st.rec, st.c); got != st.want {
			t.Errorf("%s on a shared Scratch:\ngot:\n%s\nwant:\n%s", st.name, got, st.want)
		}
	}
}

// pairRecorder notes the target of the request each response answers.
type pairRecorder struct{ targets []string }

func (r *pairRecorder) Request(*Request) {}
func (r *pairRecorder) Response(m *Response) {
	if m.Request == nil {
		r.targets = append(r.targets, "<nil>")
		return
	}
	r.targets = append(r.targets, string(m.Request.Target))
}
func (r *pairRecorder) Event(Event) {}

// TestPendingRingGrows pipelines more requests than the ring starts with,
// with and without a Scratch: it grows, and responses pair in order.
func TestPendingRingGrows(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n       int
		scratch bool
	}{
		{"within the first ring", initialPending, false},
		{"grows twice", 3 * initialPending, false},
		{"grows to the limit and overflows", defaultMaxPending + 3, false},
		{"grows, on a Scratch", 3 * initialPending, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &pairRecorder{}
			c := NewConn(nil, rec)
			if tc.scratch {
				c.SetScratch(NewScratch())
			}
			var reqs, resps []byte
			for i := 0; i < tc.n; i++ {
				reqs = fmt.Appendf(reqs, "GET /r%d HTTP/1.1\r\nHost: h\r\n\r\n", i)
				resps = append(resps, "HTTP/1.1 204 No Content\r\n\r\n"...)
			}
			c.Feed(0, reqs, epoch)
			c.Feed(1, resps, epoch)
			// Past MaxPending the oldest requests were dropped: the
			// responses then answer the newest MaxPending ones in order,
			// and the rest find none.
			first := max(0, tc.n-defaultMaxPending)
			if len(rec.targets) != tc.n {
				t.Fatalf("got %d responses; want %d", len(rec.targets), tc.n)
			}
			for i, got := range rec.targets {
				want := fmt.Sprintf("/r%d", first+i)
				if first+i >= tc.n {
					want = "<nil>"
				}
				if got != want {
					t.Fatalf("response %d answers %s; want %s", i, got, want)
				}
			}
		})
	}
}
