package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/gopacket/pcapgo"

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
	dir, _ := corpus.Locate()
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

// pcapgoPackets reads a plain pcap with gopacket's reader, held to our
// snaplen, up to its first error.
func pcapgoPackets(b []byte) (pkts [][]byte, infos []Info, err error) {
	r, err := pcapgo.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, nil, err
	}
	r.SetSnaplen(maxSnaplen)
	for i := 0; i < 1<<16; i++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			return pkts, infos, err
		}
		pkts = append(pkts, data)
		infos = append(infos, Info{Timestamp: ci.Timestamp, CaptureLength: ci.CaptureLength,
			Length: ci.Length})
	}
	return pkts, infos, nil
}

// comparePcapgo checks that FileSource returns what pcapgo returns for a
// plain pcap: the same packets, times and lengths, and an error at the same
// record. The one difference allowed: a record header with no data after it
// is a clean end for pcapgo, a truncated file for us.
func comparePcapgo(t *testing.T, b []byte) {
	t.Helper()
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == magicPcapng {
		return // named .pcap, but pcapng: not this reader's input
	}
	want, infos, wantErr := pcapgoPackets(b)
	s, err := NewFileSource("diff", bytes.NewReader(b), nil)
	if err != nil {
		if want != nil || wantErr == nil {
			t.Fatalf("open: %v; pcapgo read %d packets (error %v)", err, len(want), wantErr)
		}
		return
	}
	for i := 0; ; i++ {
		data, ci, err := s.ReadPacket()
		if i == len(want) {
			switch {
			case wantErr == nil && err == nil:
				return // both stopped at the read limit
			case wantErr == nil || err == nil:
				t.Fatalf("packet %d: got error %v; want error %v", i, err, wantErr)
			case errors.Is(wantErr, io.EOF) && err == io.EOF,
				!errors.Is(wantErr, io.EOF) && err != io.EOF:
				return
			case wantErr == io.EOF && errors.Is(err, ErrTruncated) && len(b) >= 40:
				return // the allowed difference
			}
			t.Fatalf("packet %d: got error %v; want error %v", i, err, wantErr)
		}
		if err != nil {
			t.Fatalf("packet %d: got error %v; want a packet", i, err)
		}
		w := infos[i]
		if !bytes.Equal(data, want[i]) || !ci.Timestamp.Equal(w.Timestamp) ||
			ci.CaptureLength != w.CaptureLength || ci.Length != w.Length {
			t.Fatalf("packet %d: got %d bytes at %v (%d/%d); want %d bytes at %v (%d/%d)", i,
				len(data), ci.Timestamp, ci.CaptureLength, ci.Length, len(want[i]), w.Timestamp,
				w.CaptureLength, w.Length)
		}
	}
}

// TestPcapReaderMatchesPcapgo reads every plain pcap of the corpus with
// both readers.
func TestPcapReaderMatchesPcapgo(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(corpus.Dir(t), "*.pcap"))
	if len(files) == 0 {
		t.Skip("no plain pcap files in the corpus")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			comparePcapgo(t, b)
			// Cut short inside a record, the file must still read alike.
			comparePcapgo(t, b[:len(b)*2/3])
		})
	}
}

// FuzzPcapReader compares our pcap reader with pcapgo on arbitrary input.
func FuzzPcapReader(f *testing.F) {
	dir, _ := corpus.Locate()
	for _, name := range []string{"suricata-verify__http-chunked_input.pcap",
		"suricata-verify__decode-sll2-01_input.pcap"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Add([]byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0})
	f.Add([]byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 4, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 2 && binary.BigEndian.Uint16(b) == magicGzip {
			return // gzip input goes to pcapgo itself
		}
		comparePcapgo(t, b)
	})
}

// syntheticPcap returns a little-endian microsecond pcap of n records whose
// lengths vary up to max bytes and whose bytes name their record, so that
// a packet overwritten by a later read cannot go unnoticed.
func syntheticPcap(n, max int) (file []byte, pkts [][]byte) {
	file = binary.LittleEndian.AppendUint32(nil, magicPcapMicro)
	file = append(file, 2, 0, 4, 0)
	file = append(file, make([]byte, 8)...)
	file = binary.LittleEndian.AppendUint32(file, maxSnaplen)
	file = binary.LittleEndian.AppendUint32(file, uint32(LinkEthernet))
	for i := range n {
		p := make([]byte, 1+(i*7919)%max)
		for j := range p {
			p[j] = byte(i + j/64)
		}
		file = binary.LittleEndian.AppendUint32(file, uint32(i))
		file = binary.LittleEndian.AppendUint32(file, 0)
		file = binary.LittleEndian.AppendUint32(file, uint32(len(p)))
		file = binary.LittleEndian.AppendUint32(file, uint32(len(p)))
		file = append(file, p...)
		pkts = append(pkts, p)
	}
	return file, pkts
}

// TestReadShared keeps every packet of a capture several buffers long
// without copying it, holding a reference to each chunk, and checks none
// was overwritten by the refills that followed. It also checks that a
// reader whose chunk nobody holds keeps refilling that same chunk.
func TestReadShared(t *testing.T) {
	file, want := syntheticPcap(3000, 6000) // about 9 MB: several refills
	tests := []struct {
		name   string
		retain bool
	}{
		{"retain every chunk", true},
		{"retain nothing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewFileSource("shared", bytes.NewReader(file), nil)
			if err != nil {
				t.Fatal(err)
			}
			var held []*Chunk
			var got [][]byte
			seen := map[*Chunk]bool{}
			for {
				data, ci, c, err := s.ReadShared()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if c == nil || !c.Contains(data) {
					t.Fatalf("packet %d: data not inside the chunk returned with it", len(got))
				}
				if ci.CaptureLength != len(data) {
					t.Fatalf("packet %d: %d bytes but CaptureLength %d", len(got), len(data),
						ci.CaptureLength)
				}
				if !seen[c] {
					seen[c] = true
					if tt.retain {
						c.Retain()
						held = append(held, c)
					}
				}
				if tt.retain {
					got = append(got, data)
				} else if !bytes.Equal(data, want[len(got)]) {
					t.Fatalf("packet %d differs", len(got))
				} else {
					got = append(got, nil)
				}
			}
			if len(got) != len(want) {
				t.Fatalf("got %d packets; want %d", len(got), len(want))
			}
			if tt.retain {
				if len(held) < 2 {
					t.Fatalf("got %d chunks; want several for a %d-byte file", len(held), len(file))
				}
				for i := range got {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("packet %d was overwritten after it was read", i)
					}
				}
			} else if len(seen) != 1 {
				t.Errorf("got %d chunks with no reference held; want 1", len(seen))
			}
			for _, c := range held {
				c.Release()
			}
			s.Close()
			if _, _, err := s.ReadPacket(); err == nil {
				t.Errorf("read after Close: got no error; want one")
			}
		})
	}
}

// TestChunkOverRelease checks that releasing a chunk once too often is
// caught instead of recycling a buffer that is still in use.
func TestChunkOverRelease(t *testing.T) {
	c := newChunk(16)
	c.Release()
	defer func() {
		if recover() == nil {
			t.Errorf("second Release: got no panic; want one")
		}
	}()
	c.Release()
}
