package decode

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// fragTimeout is how long, in capture time, fragments of one datagram are
// held before they are given up (RFC 791 suggests up to 15 s; Linux uses 30).
const fragTimeout = 30 * time.Second

// maxFragmentsPerDatagram bounds the work one datagram can cause.
const maxFragmentsPerDatagram = 64

type fragKey struct {
	src, dst netip.Addr
	id       uint16
	proto    uint8
}

type fragRange struct{ start, end int }

type fragEntry struct {
	first time.Time
	buf   []byte // payload bytes at their offsets
	have  []fragRange
	total int // payload length, known once the last fragment arrived
}

// fragTable reassembles IPv4 fragments (RFC 791 §3.2). It holds at most
// limit payload bytes in all; beyond that new datagrams are dropped and
// counted, so a fragment flood cannot grow memory.
type fragTable struct {
	limit   int
	held    int
	entries map[fragKey]*fragEntry
	out     []byte // the last reassembled payload, reused
	sweepAt time.Time
}

func newFragTable(limit int) *fragTable {
	return &fragTable{limit: limit, entries: make(map[fragKey]*fragEntry)}
}

// add takes one fragment. It returns the whole payload (valid until the
// next call) and OK once every fragment arrived, ReasonFragment while it is
// incomplete, or ReasonFragDropped when it was given up.
func (t *fragTable) add(hdr, payload []byte, now time.Time) ([]byte, Reason) {
	t.sweep(now)
	key := fragKey{
		src:   netip.AddrFrom4([4]byte(hdr[12:16])),
		dst:   netip.AddrFrom4([4]byte(hdr[16:20])),
		id:    binary.BigEndian.Uint16(hdr[4:6]),
		proto: hdr[9],
	}
	ff := binary.BigEndian.Uint16(hdr[6:8])
	off := int(ff&0x1fff) * 8
	more := ff&0x2000 != 0
	end := off + len(payload)
	if end > 65535 || (more && len(payload)%8 != 0) {
		return nil, ReasonFragDropped
	}
	e := t.entries[key]
	if e == nil {
		if t.held+end > t.limit {
			return nil, ReasonFragDropped
		}
		e = &fragEntry{first: now}
		t.entries[key] = e
	}
	if len(e.have) >= maxFragmentsPerDatagram {
		t.drop(key, e)
		return nil, ReasonFragDropped
	}
	if end > len(e.buf) {
		grow := end - len(e.buf)
		if t.held+grow > t.limit {
			t.drop(key, e)
			return nil, ReasonFragDropped
		}
		t.held += grow
		e.buf = append(e.buf, make([]byte, grow)...)
	}
	copy(e.buf[off:end], payload)
	e.have = append(e.have, fragRange{off, end})
	if !more {
		e.total = end
	}
	if e.total == 0 || !covered(e.have, e.total) {
		return nil, ReasonFragment
	}
	t.out = append(t.out[:0], e.buf[:e.total]...)
	t.drop(key, e)
	return t.out, OK
}

// covered reports whether the ranges cover [0, total) without a hole.
func covered(rs []fragRange, total int) bool {
	reach := 0
	for progress := true; progress && reach < total; {
		progress = false
		for _, r := range rs {
			if r.start <= reach && r.end > reach {
				reach = r.end
				progress = true
			}
		}
	}
	return reach >= total
}

func (t *fragTable) drop(key fragKey, e *fragEntry) {
	t.held -= len(e.buf)
	delete(t.entries, key)
}

// sweep gives up datagrams older than fragTimeout, at most once a second of
// capture time.
func (t *fragTable) sweep(now time.Time) {
	if now.Before(t.sweepAt) {
		return
	}
	t.sweepAt = now.Add(time.Second)
	for k, e := range t.entries {
		if now.Sub(e.first) > fragTimeout {
			t.drop(k, e)
		}
	}
}
