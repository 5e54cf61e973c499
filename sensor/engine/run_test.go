package engine

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/pcapgo"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/flow"
	"github.com/apitap/apitap/sensor/internal/corpus"
	"github.com/apitap/apitap/sensor/internal/cputime"
	"github.com/apitap/apitap/sensor/internal/synth"
)

// BenchmarkSharded compares one worker with two on the large benchmark
// capture, without the slow baselines of BenchmarkPipeline: the 2w/1w
// ratio (wall time) is what sharding buys, and cpu2w/cpu1w what it costs.
func BenchmarkSharded(b *testing.B) {
	size := int64(320 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	path := benchCapture(b, size)
	decodeOnly(b, path) // warm the page cache
	var wall1, wall2, cpu1, cpu2 float64
	for b.Loop() {
		var ex1, ex2 int64
		w, c := cputime.Measure(func() { ex1 = apitap(b, path, 1) })
		wall1, cpu1 = wall1+w.Seconds(), cpu1+c.Seconds()
		w, c = cputime.Measure(func() { ex2 = apitap(b, path, 2) })
		wall2, cpu2 = wall2+w.Seconds(), cpu2+c.Seconds()
		if ex1 != ex2 {
			b.Fatalf("exchanges: %d with one worker, %d with two", ex1, ex2)
		}
	}
	b.ReportMetric(wall1/wall2, "2w/1w")
	b.ReportMetric(cpu2/cpu1, "cpu2w/cpu1w")
}

// BenchmarkWorkers runs the large capture with one and with two workers
// apart, so that a CPU profile can be taken of either.
func BenchmarkWorkers(b *testing.B) {
	path := benchCapture(b, 320<<20)
	st, _ := os.Stat(path)
	decodeOnly(b, path)
	for _, n := range []int{1, 2} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			b.SetBytes(st.Size())
			b.ReportAllocs()
			for b.Loop() {
				apitap(b, path, n)
			}
		})
	}
}

// TestShardOf checks the sharding hash sends both directions of a flow to
// one worker and spreads many flows evenly over two and four workers.
func TestShardOf(t *testing.T) {
	tests := []struct {
		name string
		addr func(i int) netip.Addr
	}{
		{"ipv4", func(i int) netip.Addr {
			return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		}},
		{"ipv6", func(i int) netip.Addr {
			return netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 14: byte(i >> 8), 15: byte(i)})
		}},
	}
	const flows = 4000
	server := netip.MustParseAddr("192.0.2.1")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var two [2]int
			var four [4]int
			for i := range flows {
				// Many clients and ephemeral ports against one server port:
				// the shape of the traffic the sensor sees most.
				p := decode.Packet{Src: tt.addr(i % 97), SrcPort: uint16(32768 + i), Dst: server,
					DstPort: 443, Proto: decode.ProtoTCP}
				r := decode.Packet{Src: p.Dst, SrcPort: p.DstPort, Dst: p.Src, DstPort: p.SrcPort,
					Proto: p.Proto}
				h := shardOf(&p)
				if h != shardOf(&r) {
					t.Fatalf("flow %d: got %#x one way and %#x the other; want equal", i, h,
						shardOf(&r))
				}
				two[h%2]++
				four[h%4]++
			}
			for i, c := range two {
				if c < flows*45/100 || c > flows*55/100 {
					t.Errorf("of two workers, worker %d got %d flows; want %d±5%%", i, c, flows/2)
				}
			}
			for i, c := range four {
				if c < flows*20/100 || c > flows*30/100 {
					t.Errorf("of four workers, worker %d got %d flows; want %d±5%%", i, c, flows/4)
				}
			}
		})
	}
}

// unmapped hides FileSource.Map, so that Run reads the file as it reads a
// stream: the path the mapped walk must agree with.
type unmapped struct{ s *capture.FileSource }

func (u unmapped) ReadPacket() ([]byte, capture.Info, error) { return u.s.ReadPacket() }
func (u unmapped) Close() error                              { return u.s.Close() }

func (u unmapped) ReadShared() ([]byte, capture.Info, *capture.Chunk, error) {
	return u.s.ReadShared()
}

// transcript is an Emitter that keeps everything it is given as JSON, which
// copies the slices the engine reuses. Workers interleave their output, so
// a transcript is compared sorted.
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (tr *transcript) add(kind string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	tr.mu.Lock()
	tr.lines = append(tr.lines, kind+string(b))
	tr.mu.Unlock()
}

func (tr *transcript) Exchange(ex *exchange.Exchange) { tr.add("exchange ", ex) }
func (tr *transcript) Flow(f *exchange.Flow)          { tr.add("flow ", f) }
func (tr *transcript) DNS(d *exchange.DNS)            { tr.add("dns ", d) }

// runCapture runs path with the given workers, through the mapping or
// through reads, and returns the summary and the sorted transcript.
func runCapture(t *testing.T, path string, workers int, mapped bool) (*Summary, []string) {
	t.Helper()
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var s capture.Source = unmapped{src}
	if mapped {
		if m, err := src.Map(); m == nil || err != nil {
			t.Fatalf("Map(%s) = %v, %v; want a mapping", path, m, err)
		}
		s = src
	}
	var tr transcript
	sum := Run(s, &Config{}, workers, &tr, nil)
	sort.Strings(tr.lines)
	if workers > 1 {
		// Reads shard flows by hash, the mapped walk by load, so a flow
		// may land on different workers. A worker sweeps idle flows on
		// its own packets' clock, so whether a quiet flow ends as idle or
		// at the end of the capture depends on which other flows its
		// worker holds: only the sum of the two can be compared.
		e := &sum.Stats.Evicted
		e[flow.ReasonFlush] += e[flow.ReasonIdle]
		e[flow.ReasonIdle] = 0
	}
	return sum, tr.lines
}

// sameRun reports how two runs of one capture differ, or "" if they agree.
func sameRun(a, b *Summary, la, lb []string) string {
	switch {
	case a.Frames != b.Frames || a.Packets != b.Packets || a.Truncated != b.Truncated:
		return fmt.Sprintf("frames/packets/truncated %d/%d/%d and %d/%d/%d", a.Frames,
			a.Packets, a.Truncated, b.Frames, b.Packets, b.Truncated)
	case !maps.Equal(a.Decode, b.Decode):
		return fmt.Sprintf("decode counters %v and %v", a.Decode, b.Decode)
	case !a.First.Equal(b.First) || !a.Last.Equal(b.Last):
		return fmt.Sprintf("times %v–%v and %v–%v", a.First, a.Last, b.First, b.Last)
	case fmt.Sprint(a.ReadError) != fmt.Sprint(b.ReadError):
		return fmt.Sprintf("read errors %v and %v", a.ReadError, b.ReadError)
	case !reflect.DeepEqual(a.Stats, b.Stats):
		return fmt.Sprintf("worker stats %+v and %+v", a.Stats, b.Stats)
	case !slices.Equal(la, lb):
		for i := range min(len(la), len(lb)) {
			if la[i] != lb[i] {
				return fmt.Sprintf("output line %d: %s and %s", i, la[i], lb[i])
			}
		}
		return fmt.Sprintf("%d output lines and %d", len(la), len(lb))
	}
	return ""
}

// plainPcaps returns the corpus captures that Map can map.
func plainPcaps(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(t), "*.pcap"))
	var plain []string
	for _, f := range files {
		b := make([]byte, 4)
		if fh, err := os.Open(f); err == nil {
			_, err = io.ReadFull(fh, b)
			fh.Close()
			if err == nil && binary.BigEndian.Uint16(b) != 0x1f8b &&
				binary.LittleEndian.Uint32(b) != 0x0a0d0d0a {
				plain = append(plain, f)
			}
		}
	}
	if len(plain) == 0 {
		t.Skip("no plain pcap files in the corpus")
	}
	return plain
}

// TestMappedMatchesRead runs every plain pcap of the corpus and the
// generated capture through the mapping and through reads, with one, two
// and three workers, and wants the same summary and the same output.
func TestMappedMatchesRead(t *testing.T) {
	files := append(plainPcaps(t), benchCapture(t, 32<<20))
	for _, f := range files {
		for _, workers := range []int{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(f), workers), func(t *testing.T) {
				rs, rl := runCapture(t, f, workers, false)
				ms, ml := runCapture(t, f, workers, true)
				if d := sameRun(rs, ms, rl, ml); d != "" {
					t.Errorf("read and mapped runs differ: %s", d)
				}
			})
		}
	}
}

// TestMappedTruncated cuts the generated capture inside a record: the
// mapped walk must stop where reads stop, with the same error.
func TestMappedTruncated(t *testing.T) {
	b, err := os.ReadFile(benchCapture(t, 32<<20))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.pcap")
	// 24 header bytes and then records: an odd cut lands inside one.
	if err := os.WriteFile(path, b[:len(b)/3+7], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 3} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			rs, rl := runCapture(t, path, workers, false)
			ms, ml := runCapture(t, path, workers, true)
			if !errors.Is(ms.ReadError, capture.ErrTruncated) {
				t.Fatalf("mapped run: got read error %v; want %v", ms.ReadError,
					capture.ErrTruncated)
			}
			if d := sameRun(rs, ms, rl, ml); d != "" {
				t.Errorf("read and mapped runs differ: %s", d)
			}
		})
	}
}

// shrinker is an Emitter that truncates a file once it has seen a number of
// exchanges.
type shrinker struct {
	mu    sync.Mutex
	seen  int
	after int
	path  string
	size  int64
	err   error
	done  bool
}

func (s *shrinker) Exchange(*exchange.Exchange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen++; s.seen == s.after {
		s.err = os.Truncate(s.path, s.size)
		s.done = true
	}
}
func (s *shrinker) Flow(*exchange.Flow) {}
func (s *shrinker) DNS(*exchange.DNS)   {}

// TestMappedShrinks truncates the file while the workers walk its mapping,
// which faults on the pages past the new end: the run must end with
// ErrTruncated rather than crash.
func TestMappedShrinks(t *testing.T) {
	b, err := os.ReadFile(benchCapture(t, 32<<20))
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 3} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "shrinking.pcap")
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			src, err := capture.OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if m, err := src.Map(); m == nil || err != nil {
				t.Fatalf("Map(%s) = %v, %v; want a mapping", path, m, err)
			}
			// The first exchanges come in the first tenth of the file; the
			// cut, on a page boundary, leaves half of it, so every worker
			// has pages past the new end still to walk.
			sh := &shrinker{after: 100, path: path, size: int64(len(b)/2) &^ 4095}
			sum := Run(src, &Config{}, workers, sh, nil)
			if !sh.done || sh.err != nil {
				t.Fatalf("truncate: done %v, error %v", sh.done, sh.err)
			}
			if !errors.Is(sum.ReadError, capture.ErrTruncated) {
				t.Fatalf("got read error %v; want %v", sum.ReadError, capture.ErrTruncated)
			}
			t.Logf("%d exchanges, %v", sh.seen, sum.ReadError)
			if sh.seen < 1000 {
				t.Errorf("got %d exchanges; want those of the half before the cut", sh.seen)
			}
		})
	}
}

// fragment rewrites a capture of Ethernet frames so that every IPv4
// datagram with enough payload travels as two fragments, the second one
// (which carries no ports) first for every other datagram. Both keep the
// original's time, so reassembly yields the original packets.
func fragment(t *testing.T, in, out string) {
	t.Helper()
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	o, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	w := pcapgo.NewWriter(o)
	if err := w.WriteFileHeader(65536, r.LinkType()); err != nil {
		t.Fatal(err)
	}
	write := func(ci gopacket.CaptureInfo, b []byte) {
		ci.CaptureLength, ci.Length = len(b), len(b)
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	for n := 0; ; n++ {
		b, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ip := b[min(14, len(b)):]
		if len(b) < 34 || binary.BigEndian.Uint16(b[12:14]) != 0x0800 || ip[0] != 0x45 ||
			ci.CaptureLength != ci.Length || int(binary.BigEndian.Uint16(ip[2:4])) != len(ip) ||
			len(ip) < 20+48 {
			write(ci, b)
			continue
		}
		payload := ip[20:]
		k := len(payload) / 2 &^ 7
		part := func(off int, data []byte, more bool) []byte {
			p := slices.Concat(b[:14], ip[:20], data)
			h := p[14:34]
			binary.BigEndian.PutUint16(h[2:4], uint16(20+len(data)))
			ff := uint16(off / 8)
			if more {
				ff |= 0x2000
			}
			binary.BigEndian.PutUint16(h[6:8], ff)
			return p
		}
		first, second := part(0, payload[:k], true), part(k, payload[k:], false)
		if n%2 == 1 {
			first, second = second, first
		}
		write(ci, first)
		write(ci, second)
	}
}

// TestMappedFragments runs a capture whose datagrams are all fragmented:
// every worker reassembles every datagram, so a fragment without ports
// must still reach the worker of its flow. The exchanges must be those of
// the capture before fragmenting, through reads and through the mapping.
func TestMappedFragments(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.pcap")
	f, err := os.Create(whole)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Write(f, synth.Options{Connections: 40, TargetBytes: 2 << 20}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	frags := filepath.Join(dir, "fragments.pcap")
	fragment(t, whole, frags)
	exchanges := func(lines []string) []string {
		return slices.DeleteFunc(slices.Clone(lines), func(l string) bool {
			return !strings.HasPrefix(l, "exchange ")
		})
	}
	_, want := runCapture(t, whole, 1, false)
	want = exchanges(want)
	if len(want) == 0 {
		t.Fatal("the generated capture gave no exchanges")
	}
	for _, workers := range []int{1, 2, 3} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			rs, rl := runCapture(t, frags, workers, false)
			ms, ml := runCapture(t, frags, workers, true)
			if d := sameRun(rs, ms, rl, ml); d != "" {
				t.Errorf("read and mapped runs differ: %s", d)
			}
			if ms.Decode["ip_fragment_held"] == 0 {
				t.Fatal("no fragment was held: the capture is not fragmented")
			}
			if got := exchanges(ml); !slices.Equal(got, want) {
				t.Errorf("got %d exchanges from the fragments; want the %d of the whole "+
					"datagrams", len(got), len(want))
			}
		})
	}
}

// TestRawShard checks, on every frame of the corpus and of the generated
// capture, that rawShard places a frame the decoder accepts where shardOf
// places its packet, and that it places the common frames at all.
func TestRawShard(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(t), "*.pcap*"))
	files = append(files, benchCapture(t, 32<<20))
	var placed, frames int
	for _, f := range files {
		src, err := capture.OpenFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := decode.New(0)
		var p decode.Packet
		for i := 0; ; i++ {
			data, ci, err := src.ReadPacket()
			if err != nil {
				break
			}
			frames++
			h, ok := rawShard(ci.LinkType, data)
			if dec.Decode(ci.LinkType, data, ci.Timestamp, &p) != decode.OK || !ok {
				continue
			}
			placed++
			if want := shardOf(&p); h != want {
				t.Fatalf("%s frame %d: rawShard = %#x; want shardOf's %#x", filepath.Base(f), i,
					h, want)
			}
		}
		src.Close()
	}
	if placed < frames/2 {
		t.Errorf("rawShard placed %d of %d frames; want most", placed, frames)
	}
}
