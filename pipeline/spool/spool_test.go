package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func batch(from, n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		k := fmt.Sprintf("uid-%06d", from+i)
		evs[i] = Event{Topic: "apitap.findings", Key: []byte(k),
			Value: []byte(`{"finding_info":{"uid":"` + k + `"},"pad":"0123456789abcdef"}`)}
	}
	return evs
}

// drain replays everything and returns the keys in order.
func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var keys []string
	for range 100000 {
		evs, err := s.Peek()
		if errors.Is(err, ErrEmpty) {
			return keys
		}
		if err != nil {
			t.Fatalf("Peek: %v", err)
		}
		for _, e := range evs {
			keys = append(keys, string(e.Key))
		}
		if err := s.Ack(); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	t.Fatal("spool never drained")
	return nil
}

func wantKeys(t *testing.T, got []string, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("got %d events; want %d", len(got), n)
	}
	for i, k := range got {
		if want := fmt.Sprintf("uid-%06d", from+i); k != want {
			t.Fatalf("event %d = %s; want %s (order broken)", i, k, want)
		}
	}
}

func TestAppendReplayInOrder(t *testing.T) {
	dir := t.TempDir()
	// Small segments force rotation and deletion of read segments.
	s, err := Open(Config{Dir: dir, SegmentBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 50 {
		if err := s.Append(batch(i*20, 20)); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if st := s.Stats(); st.Segments < 3 {
		t.Fatalf("Segments = %d; want rotation into >= 3", st.Segments)
	}
	wantKeys(t, drain(t, s), 0, 1000)
	if !s.Empty() {
		t.Errorf("Empty() = false after draining")
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) != 1 {
		t.Errorf("segment files after drain = %d; want 1 (read segments deleted)", len(segs))
	}
	if st := s.Stats(); st.Bytes != 0 || st.Acked != 1000 {
		t.Errorf("Stats = %+v; want Bytes 0, Acked 1000", st)
	}
}

func TestRestartResumesAtCursor(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Config{Dir: dir, SegmentBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := s.Append(batch(i*10, 10)); err != nil {
			t.Fatal(err)
		}
	}
	// Deliver three batches, peek a fourth without acknowledging it, crash.
	for range 3 {
		if _, err := s.Peek(); err != nil {
			t.Fatal(err)
		}
		if err := s.Ack(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Peek(); err != nil {
		t.Fatal(err)
	}
	s.closeFiles() // abandon without Close

	s2, err := Open(Config{Dir: dir, SegmentBytes: 2 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if err := s2.Append(batch(100, 10)); err != nil {
		t.Fatal(err)
	}
	wantKeys(t, drain(t, s2), 30, 80)
}

func TestTornTailIsTruncated(t *testing.T) {
	tests := []struct {
		name string
		tear func(path string, size int64) error
	}{
		{"half a record", func(p string, size int64) error { return os.Truncate(p, size-7) }},
		{"garbage appended", func(p string, _ int64) error {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Write([]byte{200, 0, 0, 0, 1, 2, 3, 4, 5})
			return err
		}},
		{"flipped payload byte", func(p string, size int64) error {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			var b [1]byte
			if _, err := f.ReadAt(b[:], size-3); err != nil {
				return err
			}
			b[0] ^= 0xff
			_, err = f.WriteAt(b[:], size-3)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				if err := s.Append(batch(i*10, 10)); err != nil {
					t.Fatal(err)
				}
			}
			seg := s.segPath(s.segs[0].id)
			size := s.segs[0].size
			s.closeFiles()
			if err := tt.tear(seg, size); err != nil {
				t.Fatal(err)
			}

			s2, err := Open(Config{Dir: dir})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s2.Close()
			if s2.Stats().TruncatedBytes == 0 {
				t.Errorf("TruncatedBytes = 0; want the torn tail counted")
			}
			got := drain(t, s2)
			// Garbage after intact records loses nothing; a damaged last
			// record loses exactly that record.
			want := 40
			if tt.name == "garbage appended" {
				want = 50
			}
			wantKeys(t, got, 0, want)

			// The spool keeps working after the repair.
			if err := s2.Append(batch(500, 3)); err != nil {
				t.Fatal(err)
			}
			wantKeys(t, drain(t, s2), 500, 3)
		})
	}
}

func TestFullDropsAndCounts(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir(), MaxBytes: 8 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var full int
	for i := range 200 {
		if err := s.Append(batch(i*10, 10)); errors.Is(err, ErrFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if full == 0 || st.Dropped != uint64(full*10) {
		t.Fatalf("ErrFull %d times, Dropped = %d; want Dropped = 10*ErrFull > 0", full, st.Dropped)
	}
	if st.Bytes > 8<<10 {
		t.Errorf("Bytes = %d; want <= MaxBytes %d", st.Bytes, 8<<10)
	}
	// What was accepted is intact and in order.
	wantKeys(t, drain(t, s), 0, int(st.Appended))
	// Room again after replay.
	if err := s.Append(batch(0, 10)); err != nil {
		t.Errorf("Append after drain: %v", err)
	}
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte{1, 't', 1, 'k', 1, 'v'})
	f.Add([]byte{0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := parseBatch(b, nil)
		if err != nil {
			return
		}
		n := 0
		for _, e := range evs {
			n += len(e.Topic) + len(e.Key) + len(e.Value)
		}
		if n > len(b) {
			t.Fatalf("parsed %d bytes of fields from %d bytes", n, len(b))
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	s, err := Open(Config{Dir: b.TempDir(), MaxBytes: 1 << 40})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	evs := batch(0, 1000)
	n := 0
	for _, e := range evs {
		n += len(e.Value) + len(e.Key)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
