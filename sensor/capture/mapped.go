package capture

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"
	"unsafe"
)

// Mapping is a plain pcap file mapped into memory, for readers that walk its
// records without a read syscall or a copy. Several goroutines may read it
// at once, each with its own Records cursor: each walking every record, or
// one walking and the others following it, reading the records whose
// offsets it hands them (Records.Follow). The mapping itself is read-only.
//
// A file that shrinks while it is mapped makes the pages past its new end
// fault (SIGBUS). A goroutine that reads a Mapping's records must call
// debug.SetPanicOnFault(true) first and pass what it recovers to
// Records.Fault, which turns such a fault into ErrTruncated.
//
// The mapping lives until FileSource.Close: no slice of it may be used after
// that, nor kept by a goroutine that outlives the walk.
type Mapping struct {
	name    string
	data    []byte // the whole file; the records start at pcapHeaderLen
	big     bool   // big-endian file
	nanos   uint32 // nanoseconds per unit of the sub-second field
	snaplen int
	link    LinkType
	first   *Records // the first cursor, whose offset BytesRead reports

	// cursors are all the Records made, so that each can see how far the
	// slowest has come; released is the end of the pages given back.
	cursors  []*Records
	released atomic.Int64
}

// pcapHeaderLen is the size of the classic pcap file header.
const pcapHeaderLen = 24

// pageSize is the granularity at which Next faults a record's pages in. It
// need not be the real page size, only no larger.
const pageSize = 4096

// prefetchAhead is how far ahead of its cursor Records.Next asks the CPU for
// the file's bytes. A record's header is never where the hardware prefetcher
// guesses (records vary in length), so without this each header was a miss
// to memory: the walk took twice as long, and with several workers each one
// walks the whole file. Two pages ahead is more than a memory latency's
// worth of walking.
const prefetchAhead = 8 << 10

// releaseEvery is how far a cursor walks between two looks at whether the
// pages behind every cursor can be given back. Without that, the whole file
// would end up mapped: the pages stay in the page cache either way, but
// counted in the process's resident memory and page tables until Close.
const releaseEvery = 16 << 20

// releaseMargin is what stays mapped behind the slowest cursor: more than a
// record, so that no packet a worker holds is given back under it. Were it
// given back, touching it would only map it again.
const releaseMargin = 1 << 20

// Map maps the source's file into memory for Records cursors, so that it can
// be read by several goroutines at once. It returns nil and no error when the
// source cannot be mapped: standard input or another stream, gzip or pcapng
// input, a file that is not regular, a system without mmap, or a source
// that packets were already read from. A source maps its file once; later
// calls return the same Mapping.
//
// Map is meant for a file that is no longer written to: the mapping covers
// the file as long as it was when mapped, so records appended after that are
// not seen, and a record cut short by the end of the mapping reads as
// ErrTruncated.
func (s *FileSource) Map() (*Mapping, error) {
	if s.mapping != nil {
		return s.mapping, nil
	}
	if s.raw == nil || s.file == nil || s.n > 0 || !canMap {
		return nil, nil
	}
	st, err := s.file.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < pcapHeaderLen ||
		st.Size() != int64(int(st.Size())) {
		return nil, nil
	}
	data, err := mapFile(s.file, int(st.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: map file: %w", s.name, err)
	}
	s.mapping = &Mapping{name: s.name, data: data, big: s.raw.big, nanos: s.raw.nanos,
		snaplen: s.raw.snaplen, link: s.link}
	return s.mapping, nil
}

// unmap releases the mapping; every slice of it becomes invalid.
func (m *Mapping) unmap() error {
	data := m.data
	m.data = nil
	if data == nil {
		return nil
	}
	return unmapFile(data)
}

// contains reports whether the address lies inside the mapping.
func (m *Mapping) contains(addr uintptr) bool {
	if len(m.data) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(m.data)))
	return addr >= lo && addr < lo+uintptr(len(m.data))
}

// Records returns a cursor at the first record of the file. Make every
// cursor before any of them walks: they look at each other to know which
// pages all have passed. The first cursor made is the one
// FileSource.BytesRead follows, so the goroutine that reports progress
// should walk it.
func (m *Mapping) Records() *Records {
	r := &Records{m: m, off: pcapHeaderLen, publishAt: releaseEvery}
	if m.first == nil {
		m.first = r
	}
	m.cursors = append(m.cursors, r)
	return r
}

// Records walks the records of a Mapping in file order. It is not safe for
// concurrent use: give each goroutine its own.
type Records struct {
	m   *Mapping
	off int   // the next record's header
	n   int   // records returned so far
	err error // the error that ended the walk, returned again by Next
	// first and last are the earliest and latest record times seen, in
	// nanoseconds since 1970: cheaper to compare than time.Time.
	first, last int64
	// fetched is where the prefetched bytes end: all of the file below it
	// was asked for.
	fetched int
	// pos is how far the cursor has walked, as it last said (see publish),
	// and publishAt where it says so next.
	pos       atomic.Int64
	publishAt int
	touch     byte // keeps the loads that fault pages in from being optimised out
}

// Next returns the next record. data is a slice of the mapping, valid until
// the source is closed; the caller must not write to it. At the end of the
// file Next returns io.EOF; a record cut short, or one the pcap reader of
// ReadPacket would refuse, yields the error ReadPacket gives for it.
func (r *Records) Next() (data []byte, ci Info, err error) {
	if r.err != nil {
		return nil, Info{}, r.err
	}
	m := r.m
	rest := len(m.data) - r.off
	if rest < pcapRecordLen {
		if rest == 0 {
			r.err = io.EOF
			r.publish(len(m.data))
			return nil, Info{}, io.EOF
		}
		return nil, Info{}, r.fail(ErrTruncated)
	}
	if ahead := min(r.off+prefetchAhead, len(m.data)); ahead > r.fetched {
		from := max(r.fetched, r.off)
		prefetch(unsafe.Pointer(&m.data[from]), uintptr(ahead-from))
		r.fetched = ahead
	}
	h := m.data[r.off : r.off+pcapRecordLen]
	var sec, frac, capU, lenU uint32
	if m.big {
		b := binary.BigEndian
		sec, frac = b.Uint32(h[0:4]), b.Uint32(h[4:8])
		capU, lenU = b.Uint32(h[8:12]), b.Uint32(h[12:16])
	} else {
		l := binary.LittleEndian
		sec, frac = l.Uint32(h[0:4]), l.Uint32(h[4:8])
		capU, lenU = l.Uint32(h[8:12]), l.Uint32(h[12:16])
	}
	caplen, length := int(capU), int(lenU)
	start := r.off + pcapRecordLen
	end := start + caplen
	if caplen > m.snaplen || caplen > length || end > len(m.data) {
		return nil, Info{}, r.fail(m.badRecord(caplen, length))
	}
	// Touch every page the record reaches into past its header's: should
	// the file have shrunk, the fault comes here, between packets, rather
	// than inside a parser. The mapping starts on a page boundary, so file
	// offsets tell where pages start. A packet's last bytes are left alone:
	// a worker that skips the packet would otherwise pay a cache miss there.
	for p := (start - 1) | (pageSize - 1) + 1; p < end; p += pageSize {
		r.touch += m.data[p]
	}
	data = m.data[start:end:end]
	r.off = end
	r.n++
	if end >= r.publishAt {
		r.publish(end)
	}
	// The product stays in 32 bits, as in pcapReader.next.
	ns := int64(sec)*1e9 + int64(frac*m.nanos)
	if r.n == 1 || ns < r.first {
		r.first = ns
	}
	if r.n == 1 || ns > r.last {
		r.last = ns
	}
	ts := time.Unix(0, ns).UTC()
	return data, Info{Timestamp: ts, CaptureLength: caplen, Length: length,
		LinkType: m.link}, nil
}

// Follow returns the record whose header starts at off, for a cursor that
// follows another one instead of walking: the walking goroutine reads a
// record's offset with Offset, calls Next, and hands the offset on; the
// follower reads that record with Follow. off must be such an offset, of a
// record Next returned without an error, or the bytes returned are not a
// record. The header is read again, so a file rewritten since gives the
// error Next would give for it. Follow does not fault pages in (the walker's
// Next did) nor publish the cursor's position: a follower says how far it
// has come with Pass.
func (r *Records) Follow(off int) (data []byte, ci Info, err error) {
	if r.err != nil {
		return nil, Info{}, r.err
	}
	m := r.m
	h := m.data[off : off+pcapRecordLen]
	var sec, frac, capU, lenU uint32
	if m.big {
		b := binary.BigEndian
		sec, frac = b.Uint32(h[0:4]), b.Uint32(h[4:8])
		capU, lenU = b.Uint32(h[8:12]), b.Uint32(h[12:16])
	} else {
		l := binary.LittleEndian
		sec, frac = l.Uint32(h[0:4]), l.Uint32(h[4:8])
		capU, lenU = l.Uint32(h[8:12]), l.Uint32(h[12:16])
	}
	caplen, length := int(capU), int(lenU)
	start := off + pcapRecordLen
	end := start + caplen
	if caplen > m.snaplen || caplen > length || end > len(m.data) {
		return nil, Info{}, r.fail(m.badRecord(caplen, length))
	}
	data = m.data[start:end:end]
	r.off = end
	r.n++
	ns := int64(sec)*1e9 + int64(frac*m.nanos)
	if r.n == 1 || ns < r.first {
		r.first = ns
	}
	if r.n == 1 || ns > r.last {
		r.last = ns
	}
	return data, Info{Timestamp: time.Unix(0, ns).UTC(), CaptureLength: caplen,
		Length: length, LinkType: m.link}, nil
}

// Pass says that a following cursor will read no record before off any
// more, so that the pages below it can be given back once every cursor has
// passed them. A follower whose records are few would otherwise hold every
// page after its last one.
func (r *Records) Pass(off int) {
	if int64(off) > r.pos.Load() {
		r.publish(off)
	}
}

// badRecord returns why a record header that Next or Follow refused is
// wrong, in the words ReadPacket uses: its length, or the end of the file.
func (m *Mapping) badRecord(caplen, length int) error {
	switch {
	case caplen > m.snaplen:
		return fmt.Errorf("capture: record of %d bytes exceeds snaplen %d", caplen, m.snaplen)
	case caplen > length:
		return fmt.Errorf("capture: record captured %d bytes of a %d-byte packet", caplen, length)
	}
	return ErrTruncated
}

// prefetchRecord is how much of a record Prefetch asks for: its header and a
// full-sized Ethernet frame. Most packets fit; the rest of a longer one
// comes on demand, in order, which the hardware prefetcher follows.
const prefetchRecord = pcapRecordLen + 1518

// Prefetch asks the CPU for the start of the record at off, which a
// following cursor is about to read: offsets come from another goroutine
// ahead of their records, so the follower can ask before it needs them,
// where a walker has to ask for the whole file. Like Follow, it wants the
// offset of a record Next returned.
func (r *Records) Prefetch(off int) {
	m := r.m
	prefetch(unsafe.Pointer(&m.data[off]), uintptr(min(prefetchRecord, len(m.data)-off)))
}

// publish records that r walked to pos and gives back the pages that every
// cursor has passed. Any cursor may do it; released says which did.
func (r *Records) publish(pos int) {
	r.pos.Store(int64(pos))
	r.publishAt = pos + releaseEvery
	m := r.m
	low := int64(pos)
	for _, c := range m.cursors {
		low = min(low, c.pos.Load())
	}
	// madvise wants whole pages, of the system's size.
	low = (low - releaseMargin) &^ int64(os.Getpagesize()-1)
	for {
		done := m.released.Load()
		if low-done < releaseEvery/2 {
			return
		}
		if m.released.CompareAndSwap(done, low) {
			releasePages(m.data[done:low])
			return
		}
	}
}

// Times returns the earliest and latest times of the records returned so
// far, zero before the first.
func (r *Records) Times() (first, last time.Time) {
	if r.n == 0 {
		return time.Time{}, time.Time{}
	}
	return time.Unix(0, r.first).UTC(), time.Unix(0, r.last).UTC()
}

// Count returns how many records Next has returned.
func (r *Records) Count() int { return r.n }

// Offset returns how many bytes of the file the cursor has walked.
func (r *Records) Offset() int64 { return int64(r.off) }

// Fault turns a value recovered from a panic into the error that ends the
// walk, when the panic was a memory fault inside the mapping: the file shrank
// while it was mapped, which reads as ErrTruncated. For any other panic it
// returns nil, and the caller should panic again with v.
func (r *Records) Fault(v any) error {
	f, ok := v.(interface{ Addr() uintptr })
	if !ok || !r.m.contains(f.Addr()) {
		return nil
	}
	r.err = nil
	return r.fail(ErrTruncated)
}

// fail ends the walk with err, worded as FileSource.readError words it. The
// cursor no longer holds the others' pages back.
func (r *Records) fail(err error) error {
	r.err = fmt.Errorf("%s: after %d packets: %w", r.m.name, r.n, err)
	r.publish(len(r.m.data))
	return r.err
}
