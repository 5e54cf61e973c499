package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// Errors returned by a Spool.
var (
	// ErrFull means the batch would take the spool over Config.MaxBytes; its
	// events were dropped and counted.
	ErrFull = errors.New("spool: full")
	// ErrEmpty means there is no batch waiting.
	ErrEmpty = errors.New("spool: empty")
	// ErrClosed means the spool was closed.
	ErrClosed = errors.New("spool: closed")
	// errCorrupt marks a record whose length or checksum does not hold.
	errCorrupt = errors.New("spool: corrupt record")
)

const (
	headerLen   = 8
	maxRecord   = 256 << 20 // a length above this is corruption, not a batch
	segSuffix   = ".seg"
	cursorName  = "cursor"
	cursorBytes = 20 // segment uint64, offset uint64, crc uint32
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Event is one message as the sink hands it to Kafka.
type Event struct {
	Topic string
	Key   []byte
	Value []byte
}

// Config sizes a spool. The zero value (with Dir set) works.
type Config struct {
	Dir string // required; created if missing
	// MaxBytes bounds the bytes of all segment files. Default 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size at which a new segment file is started.
	// Default 64 MiB (or MaxBytes/4 when that is smaller).
	SegmentBytes int64
	// LogInterval is the minimum time between two "spool full" warnings.
	// Default 10 s.
	LogInterval time.Duration
	Logger      *slog.Logger // nil discards
}

func (c *Config) maxBytes() int64 {
	if c.MaxBytes > 0 {
		return c.MaxBytes
	}
	return 1 << 30
}

func (c *Config) segmentBytes() int64 {
	if c.SegmentBytes > 0 {
		return c.SegmentBytes
	}
	return min(64<<20, max(c.maxBytes()/4, 1<<16))
}

func (c *Config) logInterval() time.Duration {
	if c.LogInterval > 0 {
		return c.LogInterval
	}
	return 10 * time.Second
}

// Stats counts what a spool has done since Open.
type Stats struct {
	Bytes          int64  // bytes on disk not yet acknowledged (approximate)
	Segments       int    // segment files
	Appended       uint64 // events appended
	Acked          uint64 // events acknowledged after replay
	Dropped        uint64 // events refused because the spool was full
	TruncatedBytes int64  // bytes cut from torn or corrupt tails at Open
}

// Spool is an on-disk queue of event batches; see the package doc.
type Spool struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	closed bool
	segs   []segment // ordered by id; the last one is being written
	w      *os.File  // append handle of segs[len-1]
	r      *os.File  // read handle of segs[rseg]
	rseg   int       // index in segs of the read position
	roff   int64     // offset of the next unacknowledged record
	total  int64     // sum of segment sizes

	pending    []Event // decoded batch handed out by Peek, until Ack
	pendingEnd int64   // offset just past the pending record
	pendingOK  bool

	enc  *zstd.Encoder
	dec  *zstd.Decoder
	wbuf []byte // encode scratch, reused
	rbuf []byte // read scratch, reused
	dbuf []byte // decoded batch; Peek's events point into it

	stats   Stats
	lastLog time.Time
}

type segment struct {
	id   uint64
	size int64
}

// Open opens or creates the spool in cfg.Dir, validates every record and
// truncates torn tails, and positions the reader at the saved cursor.
func Open(cfg Config) (*Spool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("spool: no directory")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: create dir: %w", err)
	}
	s := &Spool{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "spool.Spool")
	var err error
	if s.enc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderConcurrency(1)); err != nil {
		return nil, err
	}
	if s.dec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxRecord)); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, err
	}
	return s, nil
}

// recover lists and validates the segments and loads the cursor.
func (s *Spool) recover() error {
	ents, err := os.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("spool: list dir: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, segSuffix) {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, segSuffix), 10, 64)
		if err != nil {
			continue
		}
		s.segs = append(s.segs, segment{id: id})
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmpU64(a.id, b.id) })

	for i := range s.segs {
		size, cut, err := s.validate(s.segs[i].id)
		if err != nil {
			return err
		}
		s.segs[i].size = size
		s.total += size
		if cut > 0 {
			s.stats.TruncatedBytes += cut
			s.log.Warn("spool truncated torn record", "segment", s.segs[i].id, "bytes", cut)
		}
	}

	// Position the reader at the cursor, dropping segments before it.
	cseg, coff, ok := s.readCursor()
	if ok {
		drop := 0
		for drop < len(s.segs) && s.segs[drop].id < cseg {
			drop++
		}
		for _, sg := range s.segs[:drop] {
			s.total -= sg.size
			_ = os.Remove(s.segPath(sg.id))
		}
		s.segs = s.segs[drop:]
		if len(s.segs) > 0 && s.segs[0].id == cseg && coff <= s.segs[0].size {
			s.roff = coff
		}
	}

	if len(s.segs) == 0 {
		var next uint64 = 1
		if ok {
			next = cseg + 1
		}
		s.segs = append(s.segs, segment{id: next})
	}
	last := s.segs[len(s.segs)-1]
	w, err := os.OpenFile(s.segPath(last.id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: open segment: %w", err)
	}
	s.w = w
	s.stats.Segments = len(s.segs)
	return syncDir(s.cfg.Dir)
}

// validate scans one segment and truncates it after its last good record.
func (s *Spool) validate(id uint64) (size, cut int64, err error) {
	f, err := os.OpenFile(s.segPath(id), os.O_RDWR, 0)
	if err != nil {
		return 0, 0, fmt.Errorf("spool: open segment: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	var off int64
	var hdr [headerLen]byte
	for off < st.Size() {
		n, err := s.checkRecord(f, off, st.Size(), hdr[:])
		if err != nil {
			break
		}
		off += n
	}
	if off < st.Size() {
		if err := f.Truncate(off); err != nil {
			return 0, 0, fmt.Errorf("spool: truncate segment: %w", err)
		}
		if err := f.Sync(); err != nil {
			return 0, 0, err
		}
	}
	return off, st.Size() - off, nil
}

// checkRecord verifies the record at off and returns its total length.
func (s *Spool) checkRecord(f *os.File, off, size int64, hdr []byte) (int64, error) {
	if size-off < headerLen {
		return 0, errCorrupt
	}
	if _, err := f.ReadAt(hdr[:headerLen], off); err != nil {
		return 0, errCorrupt
	}
	n := int64(binary.LittleEndian.Uint32(hdr[0:4]))
	if n == 0 || n > maxRecord || off+headerLen+n > size {
		return 0, errCorrupt
	}
	s.rbuf = slices.Grow(s.rbuf[:0], int(n))[:n]
	if _, err := f.ReadAt(s.rbuf, off+headerLen); err != nil {
		return 0, errCorrupt
	}
	if crc32.Checksum(s.rbuf, castagnoli) != binary.LittleEndian.Uint32(hdr[4:8]) {
		return 0, errCorrupt
	}
	return headerLen + n, nil
}

// Append writes evs as one record and fsyncs it. It returns ErrFull, after
// counting the events as dropped, when the spool has no room.
func (s *Spool) Append(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}

	// Encode the batch, then compress it behind a reserved header.
	raw := s.rbuf[:0]
	for i := range evs {
		raw = binary.AppendUvarint(raw, uint64(len(evs[i].Topic)))
		raw = append(raw, evs[i].Topic...)
		raw = binary.AppendUvarint(raw, uint64(len(evs[i].Key)))
		raw = append(raw, evs[i].Key...)
		raw = binary.AppendUvarint(raw, uint64(len(evs[i].Value)))
		raw = append(raw, evs[i].Value...)
	}
	s.rbuf = raw
	rec := append(s.wbuf[:0], make([]byte, headerLen)...)
	rec = s.enc.EncodeAll(raw, rec)
	s.wbuf = rec
	payload := rec[headerLen:]
	if len(payload) > maxRecord {
		s.dropLocked(len(evs), "batch too large")
		return ErrFull
	}
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(rec[4:8], crc32.Checksum(payload, castagnoli))

	if s.total+int64(len(rec)) > s.cfg.maxBytes() {
		s.dropLocked(len(evs), "spool full")
		return ErrFull
	}
	if last := &s.segs[len(s.segs)-1]; last.size > 0 &&
		last.size+int64(len(rec)) > s.cfg.segmentBytes() {
		if err := s.rotateLocked(); err != nil {
			return err
		}
	}
	if _, err := s.w.Write(rec); err != nil {
		// Cut what may have been written so the next record starts clean.
		_ = s.w.Truncate(s.segs[len(s.segs)-1].size)
		return fmt.Errorf("spool: write: %w", err)
	}
	if err := s.w.Sync(); err != nil {
		return fmt.Errorf("spool: sync: %w", err)
	}
	s.segs[len(s.segs)-1].size += int64(len(rec))
	s.total += int64(len(rec))
	s.stats.Appended += uint64(len(evs))
	return nil
}

func (s *Spool) dropLocked(n int, reason string) {
	s.stats.Dropped += uint64(n)
	if now := time.Now(); now.Sub(s.lastLog) >= s.cfg.logInterval() {
		s.lastLog = now
		s.log.Warn("spool dropping events", "reason", reason, "dropped_total", s.stats.Dropped,
			"bytes", s.total, "max_bytes", s.cfg.maxBytes())
	}
}

func (s *Spool) rotateLocked() error {
	id := s.segs[len(s.segs)-1].id + 1
	w, err := os.OpenFile(s.segPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	if err := syncDir(s.cfg.Dir); err != nil {
		w.Close()
		return err
	}
	s.w.Close()
	s.w = w
	s.segs = append(s.segs, segment{id: id})
	s.stats.Segments = len(s.segs)
	return nil
}

// Peek returns the oldest batch not yet acknowledged, or ErrEmpty. The
// events and their bytes belong to the spool and stay valid until Ack or
// Close; repeated calls return the same batch until Ack.
func (s *Spool) Peek() ([]Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.pendingOK {
		return s.pending, nil
	}
	for {
		seg := s.segs[s.rseg]
		if s.roff < seg.size {
			break
		}
		if s.rseg == len(s.segs)-1 {
			return nil, ErrEmpty
		}
		// The read segment is exhausted and no longer written: move on.
		if err := s.advanceSegmentLocked(); err != nil {
			return nil, err
		}
	}
	if s.r == nil {
		f, err := os.Open(s.segPath(s.segs[s.rseg].id))
		if err != nil {
			return nil, fmt.Errorf("spool: open segment: %w", err)
		}
		s.r = f
	}
	var hdr [headerLen]byte
	n, err := s.checkRecord(s.r, s.roff, s.segs[s.rseg].size, hdr[:])
	if err != nil {
		// Appended records were checked when written; a failure here is
		// corruption after the fact. Skip the rest of this segment.
		s.log.Warn("spool skipping corrupt segment tail", "segment", s.segs[s.rseg].id,
			"offset", s.roff)
		s.total -= s.segs[s.rseg].size - s.roff
		s.roff = s.segs[s.rseg].size
		return nil, errCorrupt
	}
	s.dbuf, err = s.dec.DecodeAll(s.rbuf[:n-headerLen], s.dbuf[:0])
	if err != nil {
		return nil, fmt.Errorf("spool: decompress: %w", err)
	}
	evs, err := parseBatch(s.dbuf, s.pending[:0])
	if err != nil {
		return nil, err
	}
	s.pending, s.pendingEnd, s.pendingOK = evs, s.roff+n, true
	return evs, nil
}

// Ack marks the batch returned by Peek as delivered and persists the cursor.
func (s *Spool) Ack() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if !s.pendingOK {
		return nil
	}
	s.total -= s.pendingEnd - s.roff
	s.roff = s.pendingEnd
	s.stats.Acked += uint64(len(s.pending))
	s.pendingOK = false
	s.pending = s.pending[:0]
	if s.roff >= s.segs[s.rseg].size && s.rseg < len(s.segs)-1 {
		if err := s.advanceSegmentLocked(); err != nil {
			return err
		}
	}
	return s.writeCursorLocked()
}

// advanceSegmentLocked deletes the fully read segment and moves to the next.
func (s *Spool) advanceSegmentLocked() error {
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	old := s.segs[s.rseg]
	s.segs = slices.Delete(s.segs, s.rseg, s.rseg+1)
	s.roff = 0
	// Cursor first: if we crash between the two steps the stale segment is
	// removed at the next Open because it precedes the cursor.
	if err := s.writeCursorLocked(); err != nil {
		return err
	}
	if err := os.Remove(s.segPath(old.id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("spool: remove segment: %w", err)
	}
	s.stats.Segments = len(s.segs)
	return nil
}

func (s *Spool) writeCursorLocked() error {
	var b [cursorBytes]byte
	binary.LittleEndian.PutUint64(b[0:8], s.segs[s.rseg].id)
	binary.LittleEndian.PutUint64(b[8:16], uint64(s.roff))
	binary.LittleEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(s.cfg.Dir, cursorName+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("spool: write cursor: %w", err)
	}
	_, err = f.Write(b[:])
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.cfg.Dir, cursorName))
	}
	if err != nil {
		return fmt.Errorf("spool: write cursor: %w", err)
	}
	return nil
}

func (s *Spool) readCursor() (seg uint64, off int64, ok bool) {
	b, err := os.ReadFile(filepath.Join(s.cfg.Dir, cursorName))
	if err != nil || len(b) != cursorBytes {
		return 0, 0, false
	}
	if crc32.Checksum(b[:16], castagnoli) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, 0, false
	}
	return binary.LittleEndian.Uint64(b[0:8]), int64(binary.LittleEndian.Uint64(b[8:16])), true
}

// Empty reports whether every appended batch was acknowledged.
func (s *Spool) Empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rseg == len(s.segs)-1 && s.roff >= s.segs[s.rseg].size && !s.pendingOK
}

// Stats returns the spool's counters.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Bytes = s.total
	return st
}

// Close syncs and closes the files. Unacknowledged batches stay on disk for
// the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.w != nil {
		err = s.w.Sync()
	}
	s.closeFiles()
	return err
}

func (s *Spool) closeFiles() {
	if s.w != nil {
		s.w.Close()
	}
	if s.r != nil {
		s.r.Close()
	}
	if s.dec != nil {
		s.dec.Close()
	}
}

func (s *Spool) segPath(id uint64) string {
	return filepath.Join(s.cfg.Dir, fmt.Sprintf("%020d%s", id, segSuffix))
}

// parseBatch splits a decoded batch into events pointing into b.
func parseBatch(b []byte, evs []Event) ([]Event, error) {
	field := func() ([]byte, error) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, errCorrupt
		}
		f := b[k : k+int(n)]
		b = b[k+int(n):]
		return f, nil
	}
	for len(b) > 0 {
		t, err := field()
		if err != nil {
			return nil, err
		}
		k, err := field()
		if err != nil {
			return nil, err
		}
		v, err := field()
		if err != nil {
			return nil, err
		}
		evs = append(evs, Event{Topic: string(t), Key: k, Value: v})
	}
	return evs, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
