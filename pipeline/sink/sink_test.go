package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/ocsf/ocsftest"
	"github.com/apitap/apitap/sensor/finding"
)

// slowSink records what it is given and can be held shut to fill a queue.
type slowSink struct {
	mu   sync.Mutex
	gate chan struct{}
	keys []string
}

func (s *slowSink) Write(_ context.Context, evs []Event) error {
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range evs {
		s.keys = append(s.keys, string(e.Key))
	}
	return nil
}
func (s *slowSink) Close(context.Context) error { return nil }

func ev(i int) Event {
	b := GetBuf()
	b = fmt.Appendf(b, `{"i":%d}`, i)
	return Event{Class: 2004, Key: fmt.Appendf(nil, "k%d", i), Value: b}
}

func TestQueueModes(t *testing.T) {
	tests := []struct {
		name        string
		block       bool
		wantDropped bool
	}{
		{"live mode drops when full", false, true},
		{"offline mode blocks and keeps all", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &slowSink{gate: make(chan struct{})}
			q := NewQueue(s, QueueConfig{Capacity: 8, MaxBatch: 4, Block: tt.block})
			const n = 100
			errs := make(chan error, 1)
			go func() {
				var dropped int
				for i := range n {
					if err := q.Send(context.Background(), ev(i)); errors.Is(err, ErrDropped) {
						dropped++
					} else if err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
			if !tt.block {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			close(s.gate) // let the sink drain
			if tt.block {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := q.Close(ctx); err != nil {
				t.Fatal(err)
			}
			st := q.Stats()
			if st.Sent+st.Dropped != n {
				t.Errorf("Sent %d + Dropped %d != %d", st.Sent, st.Dropped, n)
			}
			if got := uint64(len(s.keys)); got != st.Sent || st.Written != st.Sent {
				t.Errorf("sink got %d, Written %d; want Sent %d", got, st.Written, st.Sent)
			}
			if (st.Dropped > 0) != tt.wantDropped {
				t.Errorf("Dropped = %d; want dropping %v", st.Dropped, tt.wantDropped)
			}
		})
	}
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	f, err := NewFile(FileConfig{Path: path, MaxBytes: 1000, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range 30 {
		e := ev(i)
		e.Value = append(e.Value[:len(e.Value)-1], fmt.Sprintf(`,"pad":"%080d"}`, 0)...)
		total++
		if err := f.Write(context.Background(), []Event{e}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(path + "*")
	if len(files) != 3 {
		t.Fatalf("files = %v; want events.jsonl, .1, .2", files)
	}
	// The newest lines are in the live file, then .1, then .2; each file is
	// within MaxBytes and holds only whole JSON lines.
	var last = -1
	for _, p := range []string{path + ".2", path + ".1", path} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 1000 {
			t.Errorf("%s is %d bytes; want <= 1000", p, len(b))
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			var v struct{ I int }
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if v.I <= last {
				t.Errorf("line %d after %d: order broken", v.I, last)
			}
			last = v.I
		}
	}
	if last != total-1 {
		t.Errorf("newest line = %d; want %d", last, total-1)
	}
}

func TestPublisherLifecycle(t *testing.T) {
	var out bytes.Buffer
	q := NewQueue(NewWriter(&out), QueueConfig{Block: true})
	p := NewPublisher(q, ocsf.Identity{Hostname: "h"})
	f := &finding.Finding{Type: finding.ShadowAPI, UID: finding.UID("shadow_api", "x"),
		Title: "t", Count: 1}
	ctx := context.Background()
	for _, resolved := range []bool{false, false, true} {
		if err := p.Finding(ctx, f, resolved); err != nil {
			t.Fatal(err)
		}
	}
	ep := &ocsf.Endpoint{Service: "s", Method: "GET", Template: "/x"}
	if err := p.Endpoint(ctx, ep, false); err != nil {
		t.Fatal(err)
	}
	f.Evidence = map[string]any{"v": "AKIAIOSFODNN7EXAMPLE"}
	if err := p.Finding(ctx, f, false); !errors.Is(err, ocsf.ErrRawSecret) {
		t.Errorf("secret evidence: err = %v; want ErrRawSecret", err)
	}
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var acts []int
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if err := ocsftest.Validate(sc.Bytes()); err != nil {
			t.Fatalf("schema: %v", err)
		}
		var v struct {
			A int `json:"activity_id"`
		}
		json.Unmarshal(sc.Bytes(), &v)
		acts = append(acts, v.A)
	}
	if want := []int{1, 2, 3, 1}; fmt.Sprint(acts) != fmt.Sprint(want) {
		t.Errorf("activities = %v; want %v", acts, want)
	}
	if p.Refused() != 1 {
		t.Errorf("Refused() = %d; want 1", p.Refused())
	}
}
