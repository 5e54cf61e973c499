package quic

import (
	"errors"
	"time"

	"github.com/apitap/apitap/sensor/tlsparse"
)

// Config bounds an Assembler. The zero value works.
type Config struct {
	// MaxConns is the number of connections with a partial ClientHello
	// held at once; the oldest is evicted beyond it. Default 1024.
	MaxConns int
	// MaxCryptoBytes bounds the crypto stream kept per connection.
	// Default 16 KiB, more than any ClientHello seen in practice.
	MaxCryptoBytes int
	// IdleTimeout drops a partial connection that got no packet for this
	// long. Default 10 s.
	IdleTimeout time.Duration
}

func (c *Config) maxConns() int {
	if c.MaxConns > 0 {
		return c.MaxConns
	}
	return 1024
}

func (c *Config) maxCrypto() int {
	if c.MaxCryptoBytes > 0 {
		return c.MaxCryptoBytes
	}
	return 16 << 10
}

func (c *Config) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return 10 * time.Second
}

// Result is what the Assembler reports for a connection whose ClientHello
// is complete.
type Result struct {
	Version uint32
	// DCID is the client's original Destination Connection ID, owned by
	// the Result and reused by the next Feed into it.
	DCID  []byte
	Hello tlsparse.ClientHello
}

// JA4 returns the JA4 fingerprint of the hello, transport 'q'.
func (r *Result) JA4() string { return tlsparse.JA4(&r.Hello, tlsparse.TransportQUIC) }

// Stats counts what an Assembler did; every rejection has its counter.
type Stats struct {
	Hellos    uint64 // ClientHellos completed
	Packets   uint64 // Initial packets decrypted
	NotQUIC   uint64 // datagrams without a usable Initial (ErrNotInitial, ErrVersion, ErrTruncated, ErrConnID)
	Decrypt   uint64 // ErrDecrypt: mostly server Initials
	BadFrames uint64 // ErrFrame
	BadHello  uint64 // crypto stream not a ClientHello
	Evicted   uint64 // partial connections dropped for MaxConns
	Expired   uint64 // partial connections dropped for IdleTimeout
	Overflow  uint64 // ErrCryptoLimit
}

type connKey struct {
	n   uint8
	id  [MaxConnIDLen]byte
	ver uint32
}

// conn is a connection whose ClientHello is still incomplete.
type conn struct {
	key    connKey
	last   time.Time
	buf    []byte   // crypto stream bytes from offset 0
	ranges [][2]int // byte ranges of buf that were received, unsorted
}

// Assembler gathers the CRYPTO frames of client Initial packets per
// connection (keyed by the original DCID) until the ClientHello is complete,
// whatever the order and packet split. It is not safe for concurrent use.
type Assembler struct {
	cfg    Config
	open   Opener
	pkt    Packet
	frames []Crypto
	conns  map[connKey]*conn
	free   []*conn
	stats  Stats
}

// NewAssembler returns an Assembler bounded by cfg.
func NewAssembler(cfg Config) *Assembler {
	return &Assembler{cfg: cfg, conns: make(map[connKey]*conn)}
}

// Stats returns the counters so far.
func (a *Assembler) Stats() Stats { return a.stats }

// Len returns the number of connections with a partial ClientHello.
func (a *Assembler) Len() int { return len(a.conns) }

// Feed takes one UDP payload sent by a client, at time now. It returns true
// when the datagram completed a ClientHello, which is then in out. An error
// says why the datagram was not used; it is a reason to count, not to stop.
func (a *Assembler) Feed(datagram []byte, now time.Time, out *Result) (bool, error) {
	for off := 0; off < len(datagram); {
		err := a.open.Open(datagram[off:], &a.pkt)
		if err != nil {
			if off == 0 {
				a.count(err)
				return false, err
			}
			// Coalesced Handshake or 0-RTT packets follow the Initial.
			break
		}
		off += a.pkt.Len
		a.stats.Packets++

		a.frames, err = AppendCrypto(a.frames[:0], a.pkt.Payload)
		if err != nil {
			a.count(err)
			return false, err
		}
		if len(a.frames) == 0 {
			continue
		}
		done, err := a.add(now, out)
		if done || err != nil {
			return done, err
		}
	}
	return false, nil
}

// add files the CRYPTO frames of a.pkt under its connection and parses the
// ClientHello once its bytes are contiguous.
func (a *Assembler) add(now time.Time, out *Result) (bool, error) {
	var key connKey
	key.n = uint8(copy(key.id[:], a.pkt.DCID))
	key.ver = a.pkt.Version
	c := a.conns[key]
	if c == nil {
		c = a.newConn(key, now)
	}
	c.last = now

	max := a.cfg.maxCrypto()
	for _, f := range a.frames {
		if f.Offset+uint64(len(f.Data)) > uint64(max) {
			a.stats.Overflow++
			a.drop(c)
			return false, ErrCryptoLimit
		}
		start, end := int(f.Offset), int(f.Offset)+len(f.Data)
		if end > len(c.buf) {
			c.buf = append(c.buf, make([]byte, end-len(c.buf))...)
		}
		copy(c.buf[start:end], f.Data)
		if len(c.ranges) >= 64 {
			// A stream cut into this many pieces is an attack or junk.
			a.stats.Overflow++
			a.drop(c)
			return false, ErrCryptoLimit
		}
		c.ranges = append(c.ranges, [2]int{start, end})
	}

	n := contiguous(c.ranges)
	err := tlsparse.ParseClientHelloMessage(c.buf[:n], &out.Hello)
	switch {
	case err == nil:
		out.Version = key.ver
		out.DCID = append(out.DCID[:0], key.id[:key.n]...)
		a.stats.Hellos++
		a.drop(c)
		return true, nil
	case errors.Is(err, tlsparse.ErrShort):
		return false, nil
	default:
		a.stats.BadHello++
		a.drop(c)
		return false, err
	}
}

// contiguous returns how many bytes from offset 0 the ranges cover.
func contiguous(ranges [][2]int) int {
	n := 0
	for grew := true; grew; {
		grew = false
		for _, r := range ranges {
			if r[0] <= n && r[1] > n {
				n, grew = r[1], true
			}
		}
	}
	return n
}

func (a *Assembler) newConn(key connKey, now time.Time) *conn {
	a.expire(now)
	if len(a.conns) >= a.cfg.maxConns() {
		var oldest *conn
		for _, c := range a.conns {
			if oldest == nil || c.last.Before(oldest.last) {
				oldest = c
			}
		}
		a.stats.Evicted++
		a.drop(oldest)
	}
	var c *conn
	if n := len(a.free); n > 0 {
		c, a.free = a.free[n-1], a.free[:n-1]
	} else {
		c = new(conn)
	}
	c.key = key
	a.conns[key] = c
	return c
}

// expire drops partial connections idle longer than the timeout. It runs
// when a connection is created, so the table is swept as it grows.
func (a *Assembler) expire(now time.Time) {
	limit := a.cfg.idleTimeout()
	for _, c := range a.conns {
		if now.Sub(c.last) > limit {
			a.stats.Expired++
			a.drop(c)
		}
	}
}

func (a *Assembler) drop(c *conn) {
	delete(a.conns, c.key)
	c.buf, c.ranges = c.buf[:0], c.ranges[:0]
	if len(a.free) < 64 {
		a.free = append(a.free, c)
	}
}

func (a *Assembler) count(err error) {
	switch err {
	case ErrDecrypt:
		a.stats.Decrypt++
	case ErrFrame:
		a.stats.BadFrames++
	default:
		a.stats.NotQUIC++
	}
}
