package ebpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func TestParseProcAddr(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{in: "0100007F:1F90", want: "127.0.0.1:8080"},
		{in: "0200CC0A:20FB", want: "10.204.0.2:8443"},
		{in: "00000000000000000000000001000000:0050", want: "[::1]:80"},
		{in: "0000000000000000FFFF00000100007F:01BB", want: "127.0.0.1:443"},
		{in: "B80D0120000000000000000001000000:1F90", want: "[2001:db8::1]:8080"},
		{in: "0100007F", err: true},
		{in: "zz00007F:0050", err: true},
		{in: "0100007F:FFFFF", err: true},
	} {
		got, err := parseProcAddr([]byte(tc.in))
		if tc.err {
			if err == nil {
				t.Errorf("parseProcAddr(%q) = %v; want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("parseProcAddr(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

// tlsRecord builds a tls_event record the way bpf/tls.c lays it out.
func tlsRecord(seq uint64, tid uint32, dir Dir, total, off uint32, data []byte, last bool,
	lost uint32) []byte {
	b := make([]byte, tlsEventSize+len(data))
	le := binary.LittleEndian
	le.PutUint64(b, 1_000_000)
	le.PutUint64(b[8:], 42)     // cgroup
	le.PutUint64(b[16:], 0xabc) // ssl
	le.PutUint64(b[24:], seq)
	le.PutUint32(b[32:], 100) // pid
	le.PutUint32(b[36:], tid)
	le.PutUint32(b[40:], 5) // fd
	le.PutUint32(b[44:], total)
	le.PutUint32(b[48:], off)
	le.PutUint32(b[52:], uint32(len(data)))
	le.PutUint32(b[56:], lost)
	b[60] = byte(dir)
	if last {
		b[61] = 1
	}
	copy(b[64:], "curl")
	copy(b[80:], []byte{10, 204, 0, 2})
	copy(b[96:], []byte{10, 204, 0, 1})
	le.PutUint16(b[112:], 40000)
	le.PutUint16(b[114:], 8443)
	b[116] = 2
	copy(b[tlsEventSize:], data)
	return b
}

type gotChunk struct {
	data string
	lost int
}

func newTestAssembler(out *[]gotChunk) *assembler {
	src := &TLSSource{}
	return newAssembler(src, func(c *Chunk) {
		*out = append(*out, gotChunk{string(c.Data), c.Lost})
	})
}

func TestAssembler(t *testing.T) {
	part := func(c byte) []byte { return bytes.Repeat([]byte{c}, tlsPartMax) }
	const total = 3 * tlsPartMax
	for _, tc := range []struct {
		name string
		recs [][]byte
		want []gotChunk
	}{
		{
			name: "whole call in one record",
			recs: [][]byte{tlsRecord(1, 1, Write, 5, 0, []byte("GET /"), true, 0)},
			want: []gotChunk{{"GET /", 0}},
		},
		{
			name: "pieces joined in order",
			recs: [][]byte{
				tlsRecord(1, 1, Write, total, 0, part('a'), false, 0),
				tlsRecord(1, 1, Write, total, tlsPartMax, part('b'), false, 0),
				tlsRecord(1, 1, Write, total, 2*tlsPartMax, part('c'), true, 0),
			},
			want: []gotChunk{{string(part('a')) + string(part('b')) + string(part('c')), 0}},
		},
		{
			name: "middle piece lost",
			recs: [][]byte{
				tlsRecord(1, 1, Write, total, 0, part('a'), false, 0),
				tlsRecord(1, 1, Write, total, 2*tlsPartMax, part('c'), true, 0),
			},
			want: []gotChunk{{string(part('a')), 0}, {string(part('c')), tlsPartMax}},
		},
		{
			name: "tail lost, carried to the next call",
			recs: [][]byte{
				tlsRecord(1, 1, Write, total, 0, part('a'), false, 0),
				tlsRecord(2, 1, Write, 3, 0, []byte("xyz"), true, 0),
			},
			want: []gotChunk{{string(part('a')), 0}, {"xyz", 2 * tlsPartMax}},
		},
		{
			name: "whole calls lost in the kernel",
			recs: [][]byte{tlsRecord(1, 1, Read, 4, 0, []byte("HTTP"), true, 777)},
			want: []gotChunk{{"HTTP", 777}},
		},
		{
			name: "threads interleaved",
			recs: [][]byte{
				tlsRecord(1, 1, Write, total, 0, part('a'), false, 0),
				tlsRecord(7, 2, Read, 2, 0, []byte("hi"), true, 0),
				tlsRecord(1, 1, Write, total, tlsPartMax, part('b'), false, 0),
				tlsRecord(1, 1, Write, total, 2*tlsPartMax, part('c'), true, 0),
			},
			want: []gotChunk{{"hi", 0},
				{string(part('a')) + string(part('b')) + string(part('c')), 0}},
		},
		{
			name: "short record ignored",
			recs: [][]byte{make([]byte, 10)},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []gotChunk
			a := newTestAssembler(&got)
			for _, r := range tc.recs {
				a.record(r)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d chunks; want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i].data != tc.want[i].data || got[i].lost != tc.want[i].lost {
					t.Errorf("chunk %d: %d bytes lost %d; want %d bytes lost %d", i,
						len(got[i].data), got[i].lost, len(tc.want[i].data), tc.want[i].lost)
				}
			}
		})
	}
}

func TestAssemblerChunkFields(t *testing.T) {
	var c Chunk
	a := newAssembler(&TLSSource{}, func(ch *Chunk) { c = *ch })
	a.record(tlsRecord(1, 9, Read, 2, 0, []byte("ok"), true, 0))
	want := netip.MustParseAddrPort("10.204.0.2:40000")
	if c.PID != 100 || c.TID != 9 || c.Comm != "curl" || c.CgroupID != 42 || c.Dir != Read ||
		c.Local != want || c.Remote != netip.MustParseAddrPort("10.204.0.1:8443") {
		t.Errorf("chunk = %+v; want pid 100 tid 9 curl cgroup 42 read %v->10.204.0.1:8443",
			c, want)
	}
}

func TestAssemblerAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping allocation count in -short mode")
	}
	a := newAssembler(&TLSSource{}, func(*Chunk) {})
	one := tlsRecord(1, 1, Write, 5, 0, []byte("GET /"), true, 0)
	p1 := tlsRecord(2, 1, Write, 2*tlsPartMax, 0, make([]byte, tlsPartMax), false, 0)
	p2 := tlsRecord(2, 1, Write, 2*tlsPartMax, tlsPartMax, make([]byte, tlsPartMax), true, 0)
	a.record(one) // intern the comm
	a.record(p1)
	a.record(p2)
	if n := testing.AllocsPerRun(200, func() {
		a.record(one)
		a.record(p1)
		a.record(p2)
	}); n != 0 {
		t.Errorf("allocs per record batch = %v; want 0", n)
	}
}

func TestForcedTCXFailure(t *testing.T) {
	l := newLab(t)
	// TCX only, with TCX "missing": the loader must say so, wrapped.
	_, err := NewCapture(Config{Interfaces: []string{l.cliIf}, NetNS: l.nsPath(l.cli),
		Attach: AttachTCX, DisableTCX: true})
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("NewCapture(AttachTCX, DisableTCX) error = %v; want ErrNotSupported", err)
	}
	t.Logf("reported: %v", err)
	// Missing interface: a plain error, not a capability gap.
	_, err = NewCapture(Config{Interfaces: []string{"nonexistent0"}, NetNS: l.nsPath(l.cli)})
	if err == nil || errors.Is(err, ErrNotSupported) {
		t.Errorf("NewCapture(nonexistent0) error = %v; want a lookup error", err)
	}
	if _, err := NewCapture(Config{}); !errors.Is(err, ErrNoInterfaces) {
		t.Errorf("NewCapture(no interfaces) error = %v; want ErrNoInterfaces", err)
	}
}

// FuzzAssembler feeds the TLS record assembler sequences of records whose
// header fields come from the input, in the shapes a kernel under pressure
// (or a bug) could produce: pieces out of order, repeated, past the call's
// length, threads and calls interleaved. Nothing may panic, no chunk may
// be longer than the longest call a record declared, and the bytes a chunk
// reports lost may not exceed what the records declared in all.
func FuzzAssembler(f *testing.F) {
	f.Add([]byte{1, 1, 0, 3, 0, 0, 3, 1, 0})
	f.Add([]byte{1, 1, 0, 12, 0, 0, 4, 0, 0, 1, 1, 0, 12, 0, 8, 4, 1, 0})
	f.Add([]byte{1, 1, 1, 12, 0, 8, 4, 0, 0, 1, 1, 1, 12, 0, 0, 4, 1, 5, 2, 1, 0, 2, 0, 0, 2, 1, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		var got []gotChunk
		a := newTestAssembler(&got)
		a.max = 4 // pending calls, so that flushing runs too
		var maxCall, declared int
		// Each record takes 9 bytes: seq, tid, dir, total (in units of 16
		// bytes, two bytes), offset (units of 16), length, last, lost.
		for p := in; len(p) >= 9; p = p[9:] {
			total := uint32(binary.LittleEndian.Uint16(p[3:])) * 16
			off := uint32(p[5]) * 16 << (p[3] >> 6)
			data := bytes.Repeat([]byte{'x'}, int(p[6])*16)
			a.record(tlsRecord(uint64(p[0]), uint32(p[1]&3), Dir(p[2]&1), total, off, data,
				p[7]&1 == 1, uint32(p[8])))
			maxCall = max(maxCall, int(total), len(data))
			declared += int(total) + int(p[8])
		}
		a.flushAll()
		for i, c := range got {
			if len(c.data) > maxCall {
				t.Fatalf("chunk %d: %d bytes, longer than any call (%d)", i, len(c.data), maxCall)
			}
			if c.lost < 0 || c.lost > declared {
				t.Fatalf("chunk %d: %d bytes lost; the records declared %d", i, c.lost, declared)
			}
		}
	})
}
