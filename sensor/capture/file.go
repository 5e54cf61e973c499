package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// File magic numbers, as they appear in the first four bytes.
const (
	magicPcapMicro = 0xa1b2c3d4
	magicPcapNano  = 0xa1b23c4d
	magicPcapng    = 0x0a0d0d0a
	magicGzip      = 0x1f8b
)

// maxSnaplen is the largest capture length we accept for one packet. Some
// writers record a snaplen of 0 or one smaller than the packets they wrote;
// the pcap reader would then refuse good packets, so we raise its limit.
const maxSnaplen = 256 << 10

// ErrTruncated reports a capture that ends in the middle of a record: the
// packets before it were read, but the file is damaged or still being
// written.
var ErrTruncated = errors.New("capture: file is truncated")

// FileSource reads a pcap or pcapng capture, from a file or from a stream
// such as standard input. It is not safe for concurrent use.
type FileSource struct {
	name   string
	closer io.Closer
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	link   LinkType
	n      int // packets returned so far
}

// OpenFile opens the named capture; "-" means standard input.
func OpenFile(name string) (*FileSource, error) {
	if name == "-" {
		return NewFileSource("stdin", os.Stdin, nil)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%s: is a directory", name)
	}
	s, err := NewFileSource(name, f, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// NewFileSource reads a capture from r, recognising pcap (either byte order,
// micro- or nanosecond timestamps, optionally gzip-compressed) and pcapng by
// their magic numbers. name is used in error messages; closer, if not nil,
// is closed by Close.
func NewFileSource(name string, r io.Reader, closer io.Closer) (*FileSource, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(4)
	if len(head) == 0 && (err == io.EOF || err == nil) {
		return nil, fmt.Errorf("%s: %w", name, ErrEmpty)
	}
	if len(head) < 4 {
		return nil, fmt.Errorf("%s: %w (only %d bytes)", name, ErrNotACapture, len(head))
	}
	s := &FileSource{name: name, closer: closer}
	le := binary.LittleEndian.Uint32(head)
	be := binary.BigEndian.Uint32(head)
	switch {
	case le == magicPcapng:
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: read pcapng header: %w", name, cleanEOF(err))
		}
		s.ng = ng
	case le == magicPcapMicro || be == magicPcapMicro || le == magicPcapNano ||
		be == magicPcapNano || binary.BigEndian.Uint16(head) == magicGzip:
		// The reader keeps only the low byte of the link type, so read it
		// from the header ourselves (not possible for gzip input, where
		// the reader's byte has to do).
		link := LinkType(0xffff)
		if hdr, _ := br.Peek(24); len(hdr) == 24 && binary.BigEndian.Uint16(head) != magicGzip {
			if le == magicPcapMicro || le == magicPcapNano {
				link = LinkType(binary.LittleEndian.Uint32(hdr[20:24]))
			} else {
				link = LinkType(binary.BigEndian.Uint32(hdr[20:24]))
			}
		}
		p, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: read pcap header: %w", name, cleanEOF(err))
		}
		// The reader sizes its buffer by the header's snaplen and checks
		// records against it: a damaged header could claim gigabytes, a
		// careless writer too little. Hold every file to our own limit.
		p.SetSnaplen(maxSnaplen)
		if link == 0xffff {
			link = widen(p.LinkType())
		}
		s.pcap = p
		s.link = link
	default:
		return nil, fmt.Errorf("%s: %w (magic %08x)", name, ErrNotACapture, be)
	}
	return s, nil
}

// widen recovers a link type from gopacket's one-byte form. Of the types
// above 255 only Linux cooked v2 is common, and its low byte (20) is not a
// registered link type of its own, so 20 is read as 276.
func widen(lt layers.LinkType) LinkType {
	if LinkType(lt) == LinkLinuxSLL2&0xff {
		return LinkLinuxSLL2
	}
	return LinkType(lt)
}

// cleanEOF turns the EOFs of a header cut short into ErrTruncated.
func cleanEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// ReadPacket implements Source. The returned slice is reused by the next
// call. A record cut short by the end of the input yields ErrTruncated.
func (s *FileSource) ReadPacket() ([]byte, Info, error) {
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		link = s.link
	)
	if s.ng != nil {
		data, ci, err = s.ng.ZeroCopyReadPacketData()
		if err == nil && len(ci.AncillaryData) > 0 {
			if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				link = widen(lt)
			}
		}
	} else {
		data, ci, err = s.pcap.ZeroCopyReadPacketData()
	}
	if err != nil {
		if err == io.EOF {
			return nil, Info{}, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, Info{}, fmt.Errorf("%s: after %d packets: %w", s.name, s.n, ErrTruncated)
		}
		return nil, Info{}, fmt.Errorf("%s: after %d packets: %w", s.name, s.n, err)
	}
	s.n++
	return data, Info{
		Timestamp:     ci.Timestamp,
		CaptureLength: ci.CaptureLength,
		Length:        ci.Length,
		LinkType:      link,
		Interface:     ci.InterfaceIndex,
	}, nil
}

// Close implements Source.
func (s *FileSource) Close() error {
	if s.closer == nil {
		return nil
	}
	c := s.closer
	s.closer = nil
	return c.Close()
}
