package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/apitap/apitap/sensor/internal/corpus"
)

// readAll reads every packet of a capture given as bytes, checking what a
// Source promises whatever the input.
func readAll(t *testing.T, b []byte) (n int, err error) {
	s, err := NewFileSource("fuzz", bytes.NewReader(b), nil)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	for i := 0; i < 1<<16; i++ {
		data, ci, err := s.ReadPacket()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		if len(data) != ci.CaptureLength {
			t.Fatalf("packet %d: %d bytes but CaptureLength %d", n, len(data), ci.CaptureLength)
		}
		n++
	}
	return n, nil
}

func TestFormats(t *testing.T) {
	for _, f := range []string{"gopacket__le_test301.pcapng", "gopacket__be_test202.pcapng",
		"suricata-verify__decode-sll2-01_input.pcap", "suricata-verify__http-ipv6_input.pcap"} {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(corpus.Dir(t), f))
			if err != nil {
				t.Fatal(err)
			}
			n, err := readAll(t, b)
			if err != nil || n == 0 {
				t.Fatalf("read %d packets, error %v; want packets and no error", n, err)
			}
		})
	}
}

// TestLinkTypeSLL2 checks the link type of a Linux cooked v2 capture is
// kept whole (gopacket's reader keeps only its low byte).
func TestLinkTypeSLL2(t *testing.T) {
	s, err := OpenFile(filepath.Join(corpus.Dir(t), "suricata-verify__decode-sll2-01_input.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, ci, err := s.ReadPacket()
	if err != nil {
		t.Fatal(err)
	}
	if ci.LinkType != LinkLinuxSLL2 {
		t.Fatalf("link type %d; want %d", ci.LinkType, LinkLinuxSLL2)
	}
}

// FuzzFileSource feeds arbitrary bytes as a capture file: it may be refused
// or cut short, but reading must never panic or return inconsistent sizes.
func FuzzFileSource(f *testing.F) {
	dir := corpusDirOrEmpty()
	for _, name := range []string{"suricata-verify__http-chunked_input.pcap",
		"ndpi__http_asymmetric.pcapng", "suricata-verify__decode-sll2-01_input.pcap"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			if len(b) > 4096 {
				b = b[:4096]
			}
			f.Add(b)
		}
	}
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})
	f.Add([]byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		readAll(t, b)
	})
}

// corpusDirOrEmpty finds ../shared/corpus for fuzz seeds without a
// testing.T; seeds are optional.
func corpusDirOrEmpty() string {
	wd, _ := os.Getwd()
	for d := wd; filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "..", "shared", "corpus")
		}
	}
	return ""
}
