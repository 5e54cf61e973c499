package engine

import (
	"net/netip"
	"os"
	"strconv"
	"testing"

	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/internal/cputime"
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
