package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apitap/apitap/sensor/internal/corpus"
)

// compareRecords reads the capture at path with ReadPacket and walks its
// mapping with Records, and wants the same packets, the same information
// and the same error at the same record.
func compareRecords(t *testing.T, path string) {
	t.Helper()
	rd, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	ms, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.Close()
	m, err := ms.Map()
	if m == nil || err != nil {
		t.Fatalf("Map() = %v, %v; want a mapping", m, err)
	}
	r := m.Records()
	for i := 0; ; i++ {
		want, wantInfo, wantErr := rd.ReadPacket()
		got, info, err := r.Next()
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("record %d: got error %v; want %v", i, err, wantErr)
		}
		if err != nil {
			if errors.Is(wantErr, io.EOF) != errors.Is(err, io.EOF) ||
				errors.Is(wantErr, ErrTruncated) != errors.Is(err, ErrTruncated) {
				t.Fatalf("record %d: got error %v; want %v", i, err, wantErr)
			}
			if _, _, again := r.Next(); again != err {
				t.Fatalf("record %d: Next after %v returned %v", i, err, again)
			}
			if got, want := ms.BytesRead(), r.Offset(); got != want {
				t.Fatalf("BytesRead() = %d; want the cursor's offset %d", got, want)
			}
			return
		}
		if !bytes.Equal(got, want) || info != wantInfo {
			t.Fatalf("record %d: got %d bytes, %+v; want %d bytes, %+v", i, len(got), info,
				len(want), wantInfo)
		}
	}
}

// TestRecordsMatchReadPacket walks every plain pcap of the corpus and a
// generated capture of varied record lengths in both byte orders, each whole
// and cut short.
func TestRecordsMatchReadPacket(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(t), "*.pcap"))
	dir := t.TempDir()
	synth, _ := syntheticPcap(3000, 6000)
	for name, b := range map[string][]byte{"synthetic.pcap": synth,
		"synthetic-be.pcap": bigEndian(synth)} {
		files = append(files, filepath.Join(dir, name))
		if err := os.WriteFile(files[len(files)-1], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 4 || !isPlainPcap(b) {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			compareRecords(t, f)
			cut := filepath.Join(t.TempDir(), "cut.pcap")
			if err := os.WriteFile(cut, b[:len(b)*2/3], 0o600); err != nil {
				t.Fatal(err)
			}
			compareRecords(t, cut)
		})
	}
}

// bigEndian rewrites a little-endian pcap from syntheticPcap in big-endian
// byte order: the file header's fields and each record header's.
func bigEndian(le []byte) []byte {
	b := bytes.Clone(le)
	swap := func(f []byte) { slices.Reverse(f) }
	for _, f := range [][2]int{{0, 4}, {4, 6}, {6, 8}, {8, 12}, {12, 16}, {16, 20}, {20, 24}} {
		swap(b[f[0]:f[1]])
	}
	for off := 24; off+16 <= len(b); {
		for i := 0; i < 16; i += 4 {
			swap(b[off+i : off+i+4])
		}
		off += 16 + int(binary.BigEndian.Uint32(b[off+8:off+12]))
	}
	return b
}

// isPlainPcap reports a classic pcap file, of either byte order.
func isPlainPcap(b []byte) bool {
	switch {
	case len(b) < 4:
		return false
	case bytes.Equal(b[:4], []byte{0xd4, 0xc3, 0xb2, 0xa1}),
		bytes.Equal(b[:4], []byte{0xa1, 0xb2, 0xc3, 0xd4}),
		bytes.Equal(b[:4], []byte{0x4d, 0x3c, 0xb2, 0xa1}),
		bytes.Equal(b[:4], []byte{0xa1, 0xb2, 0x3c, 0x4d}):
		return true
	}
	return false
}

// TestMapRefuses checks the inputs Map leaves to ReadPacket: they get no
// mapping and no error.
func TestMapRefuses(t *testing.T) {
	dir := t.TempDir()
	synth, _ := syntheticPcap(10, 100)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(synth)
	zw.Close()
	ng, err := os.ReadFile(filepath.Join(corpus.Dir(t), "gopacket__le_test301.pcapng"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		open func() (*FileSource, error)
	}{
		{"gzip", func() (*FileSource, error) { return OpenFile(write("a.pcap.gz", gz.Bytes())) }},
		{"pcapng", func() (*FileSource, error) { return OpenFile(write("a.pcapng", ng)) }},
		{"stream", func() (*FileSource, error) {
			return NewFileSource("stream", bytes.NewReader(synth), nil)
		}},
		{"already read", func() (*FileSource, error) {
			s, err := OpenFile(write("b.pcap", synth))
			if err == nil {
				_, _, err = s.ReadPacket()
			}
			return s, err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := tt.open()
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if m, err := s.Map(); m != nil || err != nil {
				t.Errorf("Map() = %v, %v; want nil, nil", m, err)
			}
		})
	}
}

// FuzzRecords compares the mapped walk with ReadPacket on arbitrary files.
func FuzzRecords(f *testing.F) {
	synth, _ := syntheticPcap(20, 300)
	f.Add(synth)
	f.Add(bigEndian(synth))
	f.Add(synth[:len(synth)-5])
	f.Fuzz(func(t *testing.T, b []byte) {
		if !isPlainPcap(b) || len(b) < 24 {
			return
		}
		path := filepath.Join(t.TempDir(), "fuzz.pcap")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenFile(path)
		if err != nil {
			return // a header ReadPacket refuses: nothing to map
		}
		s.Close()
		compareRecords(t, path)
	})
}

// TestFollow walks a capture with one cursor and reads every record again
// through a second one that follows by offset, as a worker handed the
// offsets would: the same bytes, the same information and the same times.
// The follower holds the pages back until it passes them.
func TestFollow(t *testing.T) {
	le, _ := syntheticPcap(20000, 2400) // about 24 MB
	for name, b := range map[string][]byte{"little-endian": le, "big-endian": bigEndian(le)} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "follow.pcap")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			m, err := s.Map()
			if m == nil || err != nil {
				t.Fatalf("Map() = %v, %v; want a mapping", m, err)
			}
			walker, follower := m.Records(), m.Records()
			var offs []int
			var datas [][]byte
			var infos []Info
			for {
				off := int(walker.Offset())
				data, ci, err := walker.Next()
				if err != nil {
					break
				}
				offs, datas, infos = append(offs, off), append(datas, data), append(infos, ci)
			}
			if got := m.released.Load(); got != 0 {
				t.Fatalf("%d bytes given back before the follower passed any", got)
			}
			for i, off := range offs {
				follower.Prefetch(off)
				data, ci, err := follower.Follow(off)
				if err != nil || !bytes.Equal(data, datas[i]) || ci != infos[i] {
					t.Fatalf("Follow(%d) = %d bytes, %+v, %v; want %d bytes, %+v", off, len(data),
						ci, err, len(datas[i]), infos[i])
				}
				if i == len(offs)/2 {
					follower.Pass(off)
					if m.released.Load() == 0 {
						t.Fatalf("Pass(%d) with every other cursor at the end gave nothing back",
							off)
					}
				}
			}
			wf, wl := walker.Times()
			if f, l := follower.Times(); !f.Equal(wf) || !l.Equal(wl) {
				t.Errorf("follower times %v–%v; want the walker's %v–%v", f, l, wf, wl)
			}
		})
	}
}
