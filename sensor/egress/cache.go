package egress

import (
	"net/netip"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
)

// CacheConfig sizes a Cache. The zero value works.
type CacheConfig struct {
	// MaxEntries bounds the cache; the least recently used entry goes
	// first. Each (client, address) answer and each address's any-client
	// fallback count as one entry each. Default 65536.
	MaxEntries int
	// MinHold is how long an answer stays usable even when its TTL is
	// shorter: clients and their resolvers keep answers longer than the
	// TTL says, and keep connecting to the address. Default 5 minutes.
	MinHold time.Duration
}

func (c CacheConfig) maxEntries() int {
	if c.MaxEntries <= 0 {
		return 65536
	}
	return c.MaxEntries
}

func (c CacheConfig) minHold() time.Duration {
	if c.MinHold <= 0 {
		return 5 * time.Minute
	}
	return c.MinHold
}

// cacheKey identifies an answer: the address and the client it was given
// to. An invalid client marks the any-client fallback entry.
type cacheKey struct {
	client netip.Addr
	addr   netip.Addr
}

type cacheEntry struct {
	key     cacheKey
	name    string
	expires time.Time
	// prev and next link the LRU list; the head is the most recent.
	prev, next *cacheEntry
}

// Cache remembers which name a client resolved to reach an address, so
// that a flow without SNI or Host can still be named. It keeps the name the
// client asked for (the start of the CNAME chain), since that is the name
// the application used; a CDN target such as "d1234.cloudfront.net" says
// little about the vendor.
//
// The cache is bounded (LRU with an eviction counter) and time-aware: an
// entry expires max(TTL, MinHold) after the packet time of its answer.
// A Cache is not safe for concurrent use; the caller serialises.
type Cache struct {
	cfg        CacheConfig
	entries    map[cacheKey]*cacheEntry
	head, tail *cacheEntry
	evictions  uint64
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	return &Cache{cfg: cfg, entries: make(map[cacheKey]*cacheEntry)}
}

// Add records a DNS answer: each A and AAAA address maps to d.Name for
// d.Client, and for any client. Answers without addresses and failed
// lookups (non-zero RCode) are ignored. d is not retained.
func (c *Cache) Add(d *exchange.DNS) {
	if d == nil || d.RCode != 0 || d.Name == "" || len(d.Addrs) == 0 {
		return
	}
	hold := time.Duration(d.TTL) * time.Second
	if min := c.cfg.minHold(); hold < min {
		hold = min
	}
	expires := d.Time.Add(hold)
	client := d.Client.Unmap()
	for _, a := range d.Addrs {
		a = a.Unmap()
		if !a.IsValid() {
			continue
		}
		if client.IsValid() {
			c.put(cacheKey{client: client, addr: a}, d.Name, expires)
		}
		c.put(cacheKey{addr: a}, d.Name, expires)
	}
}

// Lookup returns the name that client resolved to reach server, as known
// at packet time at. It prefers the answer given to that client and falls
// back to the most recent answer given to any client. Expired entries are
// dropped as they are found.
func (c *Cache) Lookup(client, server netip.Addr, at time.Time) (name string, ok bool) {
	server = server.Unmap()
	client = client.Unmap()
	if client.IsValid() {
		if name, ok = c.get(cacheKey{client: client, addr: server}, at); ok {
			return name, true
		}
	}
	return c.get(cacheKey{addr: server}, at)
}

// Len returns the number of entries held.
func (c *Cache) Len() int { return len(c.entries) }

// Evictions returns how many live entries were dropped to stay within
// MaxEntries. Expired entries removed on lookup are not counted.
func (c *Cache) Evictions() uint64 { return c.evictions }

func (c *Cache) get(k cacheKey, at time.Time) (string, bool) {
	e, ok := c.entries[k]
	if !ok {
		return "", false
	}
	if at.After(e.expires) {
		c.remove(e)
		return "", false
	}
	c.moveToFront(e)
	return e.name, true
}

func (c *Cache) put(k cacheKey, name string, expires time.Time) {
	if e, ok := c.entries[k]; ok {
		// A newer answer replaces the name; an answer replayed out of
		// order never shortens a longer-lived one for the same name.
		if e.name != name || expires.After(e.expires) {
			e.name = name
			e.expires = expires
		}
		c.moveToFront(e)
		return
	}
	for len(c.entries) >= c.cfg.maxEntries() && c.tail != nil {
		c.remove(c.tail)
		c.evictions++
	}
	e := &cacheEntry{key: k, name: name, expires: expires}
	c.entries[k] = e
	c.pushFront(e)
}

func (c *Cache) remove(e *cacheEntry) {
	delete(c.entries, e.key)
	c.unlink(e)
}

func (c *Cache) unlink(e *cacheEntry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		c.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		c.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (c *Cache) pushFront(e *cacheEntry) {
	e.next = c.head
	if c.head != nil {
		c.head.prev = e
	}
	c.head = e
	if c.tail == nil {
		c.tail = e
	}
}

func (c *Cache) moveToFront(e *cacheEntry) {
	if c.head == e {
		return
	}
	c.unlink(e)
	c.pushFront(e)
}
