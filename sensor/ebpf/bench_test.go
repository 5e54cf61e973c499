package ebpf

import (
	"encoding/binary"
	"strconv"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/ringbuf"
)

// httpFrame is an Ethernet + IPv4 + TCP frame carrying a GET request.
func httpFrame() []byte {
	payload := []byte("GET /api/v1/items?id=7 HTTP/1.1\r\nHost: shop.test\r\nAccept: */*\r\n\r\n")
	f := make([]byte, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+20+len(payload)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 204, 0, 2})
	copy(ip[16:], []byte{10, 204, 0, 1})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp, 40000)
	binary.BigEndian.PutUint16(tcp[2:], 8080)
	tcp[12] = 5 << 4
	tcp[13] = 0x18 // PSH ACK
	copy(tcp[20:], payload)
	return f
}

// newTestRunCapture loads the classifier without attaching it; records are
// produced by running the program on a frame (BPF_PROG_TEST_RUN).
func newTestRunCapture(tb testing.TB) *Capture {
	tb.Helper()
	requireRoot(tb)
	if err := checkKernel(); err != nil {
		tb.Skipf("skipping: %v", err)
	}
	spec, err := loadCapture()
	if err != nil {
		tb.Fatal(err)
	}
	spec.Maps["pkt_ring"].MaxEntries = 8 << 20
	c := newCapture()
	if err := loadSpec(spec, &c.objs); err != nil {
		tb.Fatalf("load: %v", err)
	}
	if err := c.configure(&Config{}); err != nil {
		tb.Fatal(err)
	}
	if c.reader, err = ringbuf.NewReader(c.objs.PktRing); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

func fillRing(tb testing.TB, c *Capture, frame []byte, n int) {
	tb.Helper()
	opts := &ebpf.RunOptions{Data: frame, Repeat: uint32(n)}
	if _, err := c.objs.CaptureIngress.Run(opts); err != nil {
		tb.Skipf("skipping: BPF_PROG_TEST_RUN: %v", err)
	}
}

// The program run through BPF_PROG_TEST_RUN classifies and copies the frame;
// ReadPacket returns it as a raw IP packet without allocating.
func TestCaptureReadAllocs(t *testing.T) {
	c := newTestRunCapture(t)
	frame := httpFrame()
	fillRing(t, c, frame, 300)
	pkt, ci, err := c.ReadPacket()
	if err != nil {
		t.Fatalf("ReadPacket: %v", err)
	}
	if string(pkt) != string(frame[14:]) || ci.CaptureLength != len(frame)-14 ||
		ci.Length != len(frame)-14 {
		t.Fatalf("ReadPacket = %d bytes (cap %d, len %d); want the %d-byte IP packet",
			len(pkt), ci.CaptureLength, ci.Length, len(frame)-14)
	}
	if testing.Short() {
		return
	}
	if n := testing.AllocsPerRun(200, func() {
		if _, _, err := c.ReadPacket(); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("allocs per ReadPacket = %v; want 0", n)
	}
}

// BenchmarkCaptureReadPacket measures reading one record from the kernel ring
// (the ring is refilled in batches outside the timer).
func BenchmarkCaptureReadPacket(b *testing.B) {
	c := newTestRunCapture(b)
	frame := httpFrame()
	b.ReportAllocs()
	b.SetBytes(int64(len(frame) - 14))
	const batch = 4096
	left := 0
	for b.Loop() {
		if left == 0 {
			b.StopTimer()
			fillRing(b, c, frame, batch)
			left = batch
			b.StartTimer()
		}
		if _, _, err := c.ReadPacket(); err != nil {
			b.Fatal(err)
		}
		left--
	}
}

// BenchmarkTLSChunks measures turning ring records into Chunks: a 1 KiB call
// in one record, and a 16 KiB call in four pieces that are joined.
func BenchmarkTLSChunks(b *testing.B) {
	for _, size := range []int{1024, 16384} {
		b.Run(byteSize(size), func(b *testing.B) {
			var recs [][]byte
			for off := 0; off < size; off += tlsPartMax {
				n := min(tlsPartMax, size-off)
				recs = append(recs, tlsRecord(1, 1, Write, uint32(size), uint32(off),
					make([]byte, n), off+n == size, 0))
			}
			a := newAssembler(&TLSSource{}, func(*Chunk) {})
			seq := uint64(1)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				seq++
				for _, r := range recs {
					binary.LittleEndian.PutUint64(r[24:], seq)
					a.record(r)
				}
			}
		})
	}
}

func byteSize(n int) string {
	if n >= 1024 {
		return strconv.Itoa(n/1024) + "KiB"
	}
	return strconv.Itoa(n) + "B"
}
