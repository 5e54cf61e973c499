package dataflow

import (
	"net/netip"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/detect"
	"github.com/apitap/apitap/sensor/exchange"
)

// A peer is what the analyzer remembers about one (client, server, Host):
// where its exchanges go, and shortcuts to the table entries its last
// exchanges touched. A client keeps calling the same service with the same
// credential, so an exchange usually finds everything it updates here
// after a single map lookup, instead of one lookup per table, each of which
// costs a cache miss on a busy sensor. The shortcuts are only that: every
// table keeps its own entries and limits, and a miss takes the long way.
type peer struct {
	// dest is set on the first exchange with a match (see
	// Analyzer.destination).
	dest     Destination
	resolved bool

	// svc counts this server's incoming bodies for sampling, and mc holds
	// the sampling groups of the method last seen; valid while svcGen
	// equals Analyzer.svcGen.
	svc    *service
	svcGen int
	mc     *methodCount

	// The shortcuts live in the peer itself rather than behind slices:
	// each pointer followed is one more cache miss per exchange.
	headers  [peerHeaders]peerHeader // the last header values and their matches
	nHeaders int
	flows    [maxPeerFlows]peerFlow // flows this peer's matches updated
	nFlows   int
	cred     *credState  // the credential of the last match, and
	credFP   string      // its fingerprint,
	credDest bool        // whether cred.dests holds dest.Host,
	client   clientID    // the client that last sent it,
	seen     *clientSeen // and its entry in cred.clients
}

// destKey identifies a peer: what Destination depends on.
type destKey struct {
	client netip.Addr
	server netip.AddrPort
	host   string
}

// maxPeers bounds the peer table; it starts afresh when full, so a name
// whose DNS answer changed is resolved again soon enough.
const maxPeers = 4096

// peerHeaders is how many header values a peer remembers.
const peerHeaders = 4

type peerHeader struct {
	dir         detect.Direction
	name, value string
	ms          []match
}

// flowID is a flowKey without the destination, which a peer implies.
type flowID struct {
	class string
	pos   detect.Position
	dir   detect.Direction
}

type peerFlow struct {
	id flowID
	f  *flowState
}

// maxPeerFlows bounds the flow shortcuts of a peer.
const maxPeerFlows = 8

// clientSeen is when a client last sent a credential. gone is set when the
// client is evicted from the credential's table, so that a peer holding the
// pointer knows to look again.
type clientSeen struct {
	at   time.Time
	gone bool
}

// peerOf returns the peer of ex, creating it if needed.
func (a *Analyzer) peerOf(ex *exchange.Exchange) *peer {
	k := destKey{ex.Client.Addr(), ex.Server, ex.Host}
	if p := a.peers[k]; p != nil {
		return p
	}
	if len(a.peers) >= maxPeers {
		a.peers = make(map[destKey]*peer)
	}
	// Clone the host: it may share memory with the whole exchange.
	k.host = strings.Clone(k.host)
	p := &peer{}
	a.peers[k] = p
	return p
}

// header returns the matches p remembers for a header value.
func (p *peer) header(dir detect.Direction, h *exchange.Header) ([]match, bool) {
	for i := range p.nHeaders {
		ph := &p.headers[i]
		if ph.dir == dir && ph.value == h.Value && ph.name == h.Name {
			return ph.ms, true
		}
	}
	return nil, false
}

// rememberHeader keeps a header value's matches, replacing the oldest value
// when the peer already holds peerHeaders of them.
func (p *peer) rememberHeader(dir detect.Direction, name, value string, ms []match) {
	h := peerHeader{dir, name, value, ms}
	if p.nHeaders < peerHeaders {
		p.headers[p.nHeaders] = h
		p.nHeaders++
		return
	}
	copy(p.headers[:], p.headers[1:])
	p.headers[peerHeaders-1] = h
}

// service counts one server's incoming bodies by method and side: the
// sampling groups of Config.ResponseSampleAfter. A service sees a handful
// of methods, searched in order; more than maxListedMethods go to a map.
// The counts are pointers that stay put, so that peers can hold them.
type service struct {
	methods []*methodCount
	more    map[string]*methodCount
}

type methodCount struct {
	method string
	g      [2]sampleGroup // by side: request, response
}

// sampleGroup counts the bodies of one (server, method, side).
type sampleGroup struct {
	n     int64 // bodies seen
	quiet int64 // bodies scanned since the last one with a match
}

const maxListedMethods = 8

// counts returns the sampling groups of method, creating them if needed.
func (s *service) counts(method string) *methodCount {
	for _, mc := range s.methods {
		if mc.method == method {
			return mc
		}
	}
	if mc := s.more[method]; mc != nil {
		return mc
	}
	mc := &methodCount{method: strings.Clone(method)}
	if len(s.methods) < maxListedMethods {
		s.methods = append(s.methods, mc)
		return mc
	}
	if s.more == nil {
		s.more = make(map[string]*methodCount)
	}
	s.more[method] = mc
	return mc
}
