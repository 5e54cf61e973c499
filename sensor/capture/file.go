package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

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
	pcap   *pcapgo.Reader // gzip-compressed pcap
	raw    *pcapReader    // plain pcap
	ng     *pcapgo.NgReader
	link   LinkType
	n      int // packets returned so far

	counter *countingReader // set by OpenFile for files
	file    *os.File        // set by OpenFile for files, for Map
	mapping *Mapping        // set by Map
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
	cr := &countingReader{r: f}
	s, err := NewFileSource(name, cr, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	s.counter = cr
	s.file = f
	return s, nil
}

// countingReader counts the bytes read through it, for progress reports.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BytesRead returns how many bytes of the file have been read so far
// (read-ahead included), or -1 for a stream such as standard input. Call
// it from the goroutine that reads packets; once the file is mapped, from
// the one that walks the mapping's first Records cursor.
func (s *FileSource) BytesRead() int64 {
	if s.mapping != nil && s.mapping.first != nil {
		return s.mapping.first.Offset()
	}
	if s.counter == nil {
		return -1
	}
	return s.counter.n
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
		if binary.BigEndian.Uint16(head) != magicGzip {
			p, err := newPcapReader(br, r, maxSnaplen)
			if err != nil {
				return nil, fmt.Errorf("%s: read pcap header: %w", name, cleanEOF(err))
			}
			s.raw = p
			s.link = link
			break
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
	if s.raw != nil {
		// The common case, kept apart from the gopacket readers: no
		// CaptureInfo to convert and no copy of the packet.
		data, ts, caplen, length, err := s.raw.next()
		if err != nil {
			return nil, Info{}, s.readError(err)
		}
		s.n++
		return data, Info{Timestamp: ts, CaptureLength: caplen, Length: length,
			LinkType: s.link}, nil
	}
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
		return nil, Info{}, s.readError(err)
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

// ReadShared is ReadPacket for a caller that hands packets to other
// goroutines without copying them. When c is not nil, data lies in c: a
// caller that keeps data past the next read calls c.Retain before that read
// and c.Release once done with it, from any goroutine. When c is nil (gzip
// and pcapng input) data is valid until the next read, as with ReadPacket.
func (s *FileSource) ReadShared() (data []byte, ci Info, c *Chunk, err error) {
	if s.raw == nil {
		data, ci, err = s.ReadPacket()
		return data, ci, nil, err
	}
	data, ts, caplen, length, err := s.raw.next()
	if err != nil {
		return nil, Info{}, nil, s.readError(err)
	}
	s.n++
	return data, Info{Timestamp: ts, CaptureLength: caplen, Length: length,
		LinkType: s.link}, s.raw.chunk, nil
}

// readError turns a reader's error into ReadPacket's: io.EOF at the end,
// ErrTruncated for a record cut short.
func (s *FileSource) readError(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: after %d packets: %w", s.name, s.n, ErrTruncated)
	}
	return fmt.Errorf("%s: after %d packets: %w", s.name, s.n, err)
}

// Close implements Source. It unmaps the file if Map mapped it.
func (s *FileSource) Close() error {
	if s.raw != nil {
		s.raw.release()
	}
	var err error
	if s.mapping != nil {
		err = s.mapping.unmap()
	}
	if s.closer == nil {
		return err
	}
	c := s.closer
	s.closer = nil
	if cerr := c.Close(); cerr != nil {
		return cerr
	}
	return err
}

// Chunk is a read buffer of a FileSource that other goroutines may share
// (see ReadShared). It counts references: the reader holds one while it
// reads into the chunk, and each holder of packets in it one more. Once a
// chunk is shared the reader refills into a fresh one rather than moving the
// unread tail over packets someone still holds; the last Release returns
// the chunk for reuse.
type Chunk struct {
	buf  []byte
	refs atomic.Int32
}

// chunkPool recycles chunks, so a sharded run does not allocate a megabyte
// for every refill.
var chunkPool sync.Pool

// newChunk returns a chunk of at least n bytes holding one reference.
func newChunk(n int) *Chunk {
	c, _ := chunkPool.Get().(*Chunk)
	if c == nil || cap(c.buf) < n {
		c = &Chunk{buf: make([]byte, n)}
	}
	c.buf = c.buf[:cap(c.buf)]
	c.refs.Store(1)
	return c
}

// Retain adds a reference. Call it only from the goroutine that reads the
// source, while the chunk is the one the last packet was read from.
func (c *Chunk) Retain() { c.refs.Add(1) }

// Release drops a reference; the last one recycles the chunk, after which
// no slice of it may be used.
func (c *Chunk) Release() {
	switch n := c.refs.Add(-1); {
	case n == 0:
		chunkPool.Put(c)
	case n < 0:
		panic("capture: chunk released more often than retained")
	}
}

// Contains reports whether b lies inside the chunk. An empty b does not.
func (c *Chunk) Contains(b []byte) bool {
	if len(b) == 0 || len(c.buf) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(c.buf)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(c.buf))
}

// pcapRecordLen is the size of a classic pcap record header: seconds,
// sub-second part, captured length, original length, 4 bytes each.
const pcapRecordLen = 16

// pcapBufSize is the reader's buffer: four snaplen-sized records fit, so a
// refill is rare and the copy of a partial record before it is small.
const pcapBufSize = 4 * (maxSnaplen + pcapRecordLen)

// errPcapVersion reports a pcap header whose version is not 2.4.
var errPcapVersion = errors.New("capture: unsupported pcap version")

// pcapReader reads classic (uncompressed) pcap records. It hands out
// packets as slices of its own buffer, which the next call may overwrite:
// no copy per packet, where a reader behind bufio copies twice. gopacket's
// pcapgo reader still handles gzip input.
type pcapReader struct {
	r        io.Reader
	chunk    *Chunk // holds buf; nil once released
	buf      []byte
	off, end int   // unread bytes are buf[off:end]
	err      error // the error that ended reading from r, once seen
	big      bool  // big-endian file
	nanos    uint32
	snaplen  int
	linkType uint32
}

// newPcapReader reads the 24-byte file header from br and checks it the way
// pcapgo does: a known magic number and version 2.4. It takes over what br
// buffered, then reads r, br's source, itself: through br every byte would
// be copied once more.
func newPcapReader(br *bufio.Reader, r io.Reader, snaplen int) (*pcapReader, error) {
	var hdr [24]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, err
	}
	rest, _ := br.Peek(br.Buffered())
	p := &pcapReader{r: r, chunk: newChunk(max(pcapBufSize, len(rest))), snaplen: snaplen}
	p.buf = p.chunk.buf
	p.end = copy(p.buf, rest)
	switch binary.LittleEndian.Uint32(hdr[:4]) {
	case magicPcapMicro:
		p.nanos = 1000
	case magicPcapNano:
		p.nanos = 1
	default:
		switch binary.BigEndian.Uint32(hdr[:4]) {
		case magicPcapMicro:
			p.big, p.nanos = true, 1000
		case magicPcapNano:
			p.big, p.nanos = true, 1
		default:
			magic := binary.BigEndian.Uint32(hdr[:4])
			return nil, fmt.Errorf("%w (magic %08x)", ErrNotACapture, magic)
		}
	}
	// pcapgo accepts version 2.4 only; so does this reader.
	if major, minor := p.u16(hdr[4:6]), p.u16(hdr[6:8]); major != 2 || minor != 4 {
		return nil, fmt.Errorf("%w %d.%d", errPcapVersion, major, minor)
	}
	p.linkType = p.u32(hdr[20:24])
	return p, nil
}

func (p *pcapReader) u16(b []byte) uint16 {
	if p.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (p *pcapReader) u32(b []byte) uint32 {
	if p.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

// next returns the next record. data is valid until the following call.
// At a record boundary the end of input is io.EOF; inside a record it is
// io.ErrUnexpectedEOF.
func (p *pcapReader) next() (data []byte, ts time.Time, caplen, length int, err error) {
	if p.end-p.off < pcapRecordLen {
		if err := p.fill(pcapRecordLen); err != nil {
			return nil, time.Time{}, 0, 0, err
		}
	}
	h := p.buf[p.off : p.off+pcapRecordLen]
	sec, frac := p.u32(h[0:4]), p.u32(h[4:8])
	caplen, length = int(p.u32(h[8:12])), int(p.u32(h[12:16]))
	if caplen > p.snaplen {
		return nil, time.Time{}, 0, 0,
			fmt.Errorf("capture: record of %d bytes exceeds snaplen %d", caplen, p.snaplen)
	}
	if caplen > length {
		return nil, time.Time{}, 0, 0,
			fmt.Errorf("capture: record captured %d bytes of a %d-byte packet", caplen, length)
	}
	if n := pcapRecordLen + caplen; p.end-p.off < n {
		if err := p.fill(n); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, time.Time{}, 0, 0, err
		}
	}
	start := p.off + pcapRecordLen
	p.off = start + caplen
	// The product stays in 32 bits, as pcapgo computes it: a damaged
	// sub-second field yields the same time from either reader.
	ts = time.Unix(int64(sec), int64(frac*p.nanos)).UTC()
	return p.buf[start:p.off:p.off], ts, caplen, length, nil
}

// fill makes at least n unread bytes available, moving the unread tail to
// the front of the buffer first. It returns io.EOF when the input ended
// before any of them, io.ErrUnexpectedEOF when it ended part way.
func (p *pcapReader) fill(n int) error {
	if p.chunk == nil {
		return os.ErrClosed
	}
	if p.off > 0 {
		if p.chunk.refs.Load() > 1 {
			// Someone holds packets in this chunk: move on to a fresh one.
			// Only this goroutine adds references, so a count of one
			// cannot grow behind our back and the in-place move is safe.
			c := newChunk(len(p.buf))
			p.end = copy(c.buf, p.buf[p.off:p.end])
			p.chunk.Release()
			p.chunk, p.buf = c, c.buf
		} else {
			p.end = copy(p.buf, p.buf[p.off:p.end])
		}
		p.off = 0
	}
	empty := 0 // reads in a row that returned nothing, as bufio bounds them
	for p.end < n {
		if p.err != nil {
			if p.end == 0 && errors.Is(p.err, io.EOF) {
				return io.EOF
			}
			if errors.Is(p.err, io.EOF) {
				return io.ErrUnexpectedEOF
			}
			return p.err
		}
		k, err := p.r.Read(p.buf[p.end:])
		p.end += k
		switch {
		case err != nil:
			p.err = err
		case k > 0:
			empty = 0
		default:
			if empty++; empty >= 100 {
				p.err = io.ErrNoProgress
			}
		}
	}
	return nil
}

// release drops the reader's reference to its chunk; reads after it fail.
func (p *pcapReader) release() {
	if p.chunk != nil {
		p.chunk.Release()
		p.chunk, p.buf, p.off, p.end = nil, nil, 0, 0
	}
}
