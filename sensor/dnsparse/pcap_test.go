package dnsparse

// Test harness shared in spirit with the quic and dnsparse tests: read the
// public corpus with gopacket and hand each TCP/UDP payload to a callback.

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

// corpusDir finds ../shared/corpus relative to the module root, or skips.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus")
	if _, err := os.Stat(filepath.Join(c, "truth")); err != nil {
		t.Skipf("corpus not found at %s (../shared/corpus from the repo root): %v", c, err)
	}
	return c
}

// pkt is one decoded transport payload.
type pkt struct {
	frame    int // 1-based, as tshark numbers frames
	src, dst netip.AddrPort
	udp      bool
	seq      uint32
	syn      bool
	payload  []byte
}

// readPcap calls fn for every TCP or UDP packet of a pcap or pcapng file,
// with the innermost IP header's addresses (tunnels included).
func readPcap(t testing.TB, path string, fn func(p *pkt)) {
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
			out              pkt
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
				out.src = netip.AddrPortFrom(addrSrc, uint16(l.SrcPort))
				out.dst = netip.AddrPortFrom(addrDst, uint16(l.DstPort))
				out.seq, out.syn, out.payload = l.Seq, l.SYN, l.Payload
			case *layers.UDP:
				out.src = netip.AddrPortFrom(addrSrc, uint16(l.SrcPort))
				out.dst = netip.AddrPortFrom(addrDst, uint16(l.DstPort))
				out.udp, out.payload = true, l.Payload
			}
		}
		if !out.src.IsValid() {
			continue
		}
		out.frame = frame
		fn(&out)
	}
}

// stream gathers one direction of a TCP flow naively: segments sorted by
// sequence number, concatenated from the first byte while contiguous.
type stream struct {
	base    uint32
	hasBase bool
	segs    []seg
	done    bool
}

type seg struct {
	seq  uint32
	data []byte
}

const streamLimit = 16 << 10

// add records a segment and returns the contiguous bytes from the start.
func (s *stream) add(p *pkt) []byte {
	if p.syn {
		s.base, s.hasBase = p.seq+1, true
	}
	if len(p.payload) == 0 {
		return nil
	}
	s.segs = append(s.segs, seg{p.seq, append([]byte(nil), p.payload...)})
	if !s.hasBase {
		s.base = p.seq
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
		if len(buf) > streamLimit {
			break
		}
	}
	return buf
}

// truthLine is one line of a corpus truth file (fields this package uses).
type truthLine struct {
	Frame     int      `json:"frame"`
	Kind      string   `json:"kind"`
	Src       string   `json:"src"`
	Dst       string   `json:"dst"`
	SNI       string   `json:"sni"`
	Proto     string   `json:"proto"`
	Transport string   `json:"transport"`
	QName     string   `json:"qname"`
	Response  bool     `json:"response"`
	ID        int      `json:"id"`
	QType     int      `json:"qtype"`
	AnswersA  []string `json:"answers_a"`
}

// readTruth returns the truth lines of kind for every corpus file that has
// any, keyed by capture file name.
func readTruth(t testing.TB, corpus, kind string) map[string][]truthLine {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpus, "truth", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]truthLine)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.Contains(line, `"kind": "`+kind+`"`) {
				continue
			}
			var l truthLine
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
			out[name] = append(out[name], l)
		}
	}
	return out
}
