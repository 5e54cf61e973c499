package corpus

import (
	"bufio"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Packet is one transport payload of a corpus capture, decoded by gopacket
// (an independent decoder from the sensor's own).
type Packet struct {
	Frame    int // 1-based, as tshark numbers frames
	Src, Dst netip.AddrPort
	UDP      bool
	Seq      uint32
	SYN      bool
	Payload  []byte
}

// ReadPcap calls fn for every TCP or UDP packet of a pcap or pcapng file,
// with the innermost IP header's addresses (tunnels included).
func ReadPcap(t testing.TB, path string, fn func(p *Packet)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, _ := br.Peek(4)
	var (
		src  gopacket.PacketDataSource
		link layers.LinkType
	)
	if len(magic) == 4 && magic[0] == 0x0a && magic[1] == 0x0d && magic[2] == 0x0d && magic[3] == 0x0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		src, link = r, r.LinkType()
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		src, link = r, r.LinkType()
	}
	for frame := 1; frame < 1_000_000; frame++ {
		data, _, err := src.ReadPacketData()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Logf("%s: frame %d: %v", filepath.Base(path), frame, err)
			return
		}
		p := gopacket.NewPacket(data, link, gopacket.Default)
		var (
			addrSrc, addrDst netip.Addr
			out              Packet
		)
		for _, l := range p.Layers() {
			switch l := l.(type) {
			case *layers.IPv4:
				addrSrc, _ = netip.AddrFromSlice(l.SrcIP.To4())
				addrDst, _ = netip.AddrFromSlice(l.DstIP.To4())
			case *layers.IPv6:
				addrSrc, _ = netip.AddrFromSlice(l.SrcIP)
				addrDst, _ = netip.AddrFromSlice(l.DstIP)
			case *layers.TCP:
				out.Src = netip.AddrPortFrom(addrSrc, uint16(l.SrcPort))
				out.Dst = netip.AddrPortFrom(addrDst, uint16(l.DstPort))
				out.Seq, out.SYN, out.Payload = l.Seq, l.SYN, l.Payload
			case *layers.UDP:
				out.Src = netip.AddrPortFrom(addrSrc, uint16(l.SrcPort))
				out.Dst = netip.AddrPortFrom(addrDst, uint16(l.DstPort))
				out.UDP, out.Payload = true, l.Payload
			}
		}
		if !out.Src.IsValid() {
			continue
		}
		out.Frame = frame
		fn(&out)
	}
}

// Stream gathers one direction of a TCP flow naively: segments sorted by
// sequence number, concatenated from the first byte while contiguous.
type Stream struct {
	base    uint32
	hasBase bool
	segs    []seg
	Done    bool // free for the caller: set once it has what it needed
}

type seg struct {
	seq  uint32
	data []byte
}

// StreamLimit is how many bytes Stream.Add returns at most.
const StreamLimit = 16 << 10

// Add records a segment and returns the contiguous bytes from the start.
func (s *Stream) Add(p *Packet) []byte {
	if p.SYN {
		s.base, s.hasBase = p.Seq+1, true
	}
	if len(p.Payload) == 0 {
		return nil
	}
	s.segs = append(s.segs, seg{p.Seq, append([]byte(nil), p.Payload...)})
	if !s.hasBase {
		s.base = p.Seq
		for _, g := range s.segs {
			if int32(g.seq-s.base) < 0 {
				s.base = g.seq
			}
		}
	}
	sort.SliceStable(s.segs, func(i, j int) bool { return int32(s.segs[i].seq-s.segs[j].seq) < 0 })
	var buf []byte
	for _, g := range s.segs {
		off := int32(s.base + uint32(len(buf)) - g.seq) // bytes of g already held
		if off < 0 {
			break // a gap
		}
		if int(off) < len(g.data) {
			buf = append(buf, g.data[off:]...)
		}
		if len(buf) > StreamLimit {
			break
		}
	}
	return buf
}

// TruthByKind returns the truth lines of one kind ("tls", "dns", "quic",
// …) for every corpus file that has any, keyed by capture file name.
func TruthByKind(t testing.TB, dir, kind string) map[string][]Truth {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "truth", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]Truth)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, `"kind": "`+kind+`"`) {
				continue
			}
			var l Truth
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
			out[name] = append(out[name], l)
		}
	}
	return out
}
