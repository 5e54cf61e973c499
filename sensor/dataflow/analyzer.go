package dataflow

import (
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/detect"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
	"github.com/apitap/apitap/sensor/secret"
)

// Destination is where an exchange went, as the vendor resolver sees it.
type Destination struct {
	Host       string `json:"host"`                  // server name (or address)
	VendorID   string `json:"vendor_id,omitempty"`   // "" when no vendor is known
	VendorName string `json:"vendor_name,omitempty"` // display name
	// Tier is the vendor's review tier ("approved", "restricted", …), and
	// TierWeight how much data going there weighs in risk scores (0 means
	// Config.DefaultTierWeight).
	Tier       string  `json:"tier,omitempty"`
	TierWeight float64 `json:"tier_weight,omitempty"`
	External   bool    `json:"external"` // outside this organisation
	Declared   bool    `json:"declared"` // on the approved vendor list
	// CredentialTypes are the detect classes of credentials this vendor
	// issues and expects ("github_token", …).
	CredentialTypes []string `json:"credential_types,omitempty"`
}

// Stats count what the analyzer saw and what it had to drop.
type Stats struct {
	Exchanges          int64 `json:"exchanges"`
	Matches            int64 `json:"matches"`
	DroppedFlows       int64 `json:"dropped_flows"`
	DroppedCredentials int64 `json:"dropped_credentials"`
	DroppedFindings    int64 `json:"dropped_findings"`
	// SampledOut counts incoming bodies not scanned (see
	// Config.ResponseSampleAfter).
	SampledOut int64 `json:"response_bodies_sampled_out"`
}

type flowKey struct {
	dest, class string
	pos         detect.Position
	dir         detect.Direction
}

type flowState struct {
	vendor      string
	count       int64
	risk        float64
	plaintext   bool
	first, last time.Time
}

type credState struct {
	typ, issuer string
	first, last time.Time
	dests       []string
	clients     map[clientID]*clientSeen
	// overflow counts clients seen after the clients map filled up.
	overflow int
	// firstClient is the entry of the first client, kept here rather than
	// allocated apart: most credentials have one client, and reading its
	// time then touches no other memory.
	firstClient clientSeen
	usedFirst   bool
}

// match is a copy of a detect.Match that outlives the scan callback.
type match struct {
	detect.Match
	claims detect.JWTClaims
}

// Analyzer keeps the data-flow map, the credential table and the findings.
// It is not safe for concurrent use: the caller serialises calls (one
// Analyzer per worker, or a mutex around it).
type Analyzer struct {
	cfg     Config
	scanner *detect.Scanner
	resolve func(ex *exchange.Exchange) Destination

	flows      map[flowKey]*flowState
	creds      map[string]*credState
	findings   map[string]*finding.Finding
	localHosts map[string]bool
	stats      Stats

	// matches are the current exchange's matches: pointers into fresh,
	// which holds what the scanner found in this exchange, or into header
	// cache entries, which are never modified, so that replaying a cached
	// header copies no match.
	matches []*match
	fresh   []match
	onMatch func(*detect.Match)
	// lastLocal is the last Host added to localHosts: most exchanges
	// repeat it, and comparing costs less than hashing.
	lastLocal string

	peers map[destKey]*peer
	// services count incoming bodies per (server, method, side), for
	// sampling: one service's answers to one method (paths carry ids, so
	// they would make every group new). sampleKeys counts the groups;
	// svcGen changes when the table starts afresh, which tells peers that
	// their service pointers are stale.
	services   map[netip.AddrPort]*service
	sampleKeys int
	svcGen     int
	// headers remembers what each header value matched: clients send the
	// same token, cookie and user agent on every request, and scanning a
	// value again (with its keyed fingerprint) would find the same.
	headers map[headerKey]*headerEntry
	uids    map[findingKey]string
}

type headerKey struct {
	dir         detect.Direction
	name, value string
}

// headerEntry is a header cache entry: its own copies of the key strings,
// which peers share, and the matches.
type headerEntry struct {
	name, value string
	ms          []match
}

// maxCachedHeaders bounds the header cache; it starts afresh when full.
const maxCachedHeaders = 4096

// maxSampleKeys bounds the sampling groups; the table starts afresh when
// full.
const maxSampleKeys = 4096

// New returns an Analyzer that fingerprints with key and asks resolve where
// each exchange went. A nil resolve treats every destination as external,
// unclassified and undeclared, named by the exchange's Host.
func New(cfg Config, key secret.Key, resolve func(ex *exchange.Exchange) Destination) *Analyzer {
	if resolve == nil {
		resolve = func(ex *exchange.Exchange) Destination {
			return Destination{Host: ex.Host, External: true}
		}
	}
	a := &Analyzer{
		cfg:        cfg,
		scanner:    detect.NewScanner(key),
		resolve:    resolve,
		flows:      make(map[flowKey]*flowState),
		creds:      make(map[string]*credState),
		findings:   make(map[string]*finding.Finding),
		localHosts: make(map[string]bool),
		peers:      make(map[destKey]*peer),
		services:   make(map[netip.AddrPort]*service),
		headers:    make(map[headerKey]*headerEntry),
		uids:       make(map[findingKey]string),
	}
	a.onMatch = a.keep
	return a
}

// keep copies a match out of the scanner's callback.
func (a *Analyzer) keep(m *detect.Match) {
	if a.cfg.Disabled[m.Class] {
		return
	}
	c := match{Match: *m}
	if m.JWT != nil {
		c.claims = *m.JWT
		c.JWT = nil
	}
	a.fresh = append(a.fresh, c)
	a.matches = append(a.matches, &a.fresh[len(a.fresh)-1])
}

// scanHeader scans one header, or replays what the same value matched
// before: for this peer, or for any.
func (a *Analyzer) scanHeader(p *peer, dir detect.Direction, h *exchange.Header) {
	// Metadata headers never match: test the short name before hashing
	// name and value for the cache.
	if h.Value == "" || detect.SkipsHeader(h.Name) {
		return
	}
	if ms, ok := p.header(dir, h); ok {
		a.replay(ms)
		return
	}
	k := headerKey{dir, h.Name, h.Value}
	if e := a.headers[k]; e != nil {
		a.replay(e.ms)
		p.rememberHeader(dir, e.name, e.value, e.ms)
		return
	}
	start := len(a.matches)
	a.scanner.ScanHeader(dir, h.Name, h.Value, a.onMatch)
	if len(a.headers) >= maxCachedHeaders {
		a.headers = make(map[headerKey]*headerEntry)
	}
	// Clone the strings: they share memory with the whole exchange.
	e := &headerEntry{name: strings.Clone(h.Name), value: strings.Clone(h.Value)}
	if n := len(a.matches) - start; n > 0 {
		e.ms = make([]match, n)
		for i, m := range a.matches[start:] {
			e.ms[i] = *m
		}
	}
	k.name, k.value = e.name, e.value
	a.headers[k] = e
	p.rememberHeader(dir, e.name, e.value, e.ms)
}

// replay adds the matches of a header cache entry.
func (a *Analyzer) replay(ms []match) {
	for i := range ms {
		a.matches = append(a.matches, &ms[i])
	}
}

// scan runs the detectors over every part of ex that carries data. What
// leaves this host is always scanned whole: the path, query and headers of
// every request, and the body of a request to a remote destination. Bodies
// coming in — requests to a local service, and every response — are the
// bulk of a busy server's bytes, so they are sampled per (server, method,
// side): the first ResponseSampleAfter are scanned, then one in
// ResponseSampleEvery, or one in ResponseSampleQuietEvery while the last
// ResponseSampleAfter scanned ones matched nothing. That is enough to learn
// what an API receives and returns, at a fraction of the cost; Stats counts
// the bodies left out.
func (a *Analyzer) scan(p *peer, ex *exchange.Exchange) {
	sc, fn := a.scanner, a.onMatch
	sc.ScanPath(detect.DirRequest, ex.Path, fn)
	if ex.RawQuery != "" {
		sc.ScanQuery(detect.DirRequest, ex.RawQuery, fn)
	}
	for i := range ex.Request.Headers {
		a.scanHeader(p, detect.DirRequest, &ex.Request.Headers[i])
	}
	if len(ex.Request.Body) > 0 {
		if ex.Direction != exchange.DirInbound {
			sc.ScanBody(detect.DirRequest, ex.Request.ContentType, ex.Request.Body, fn)
		} else if g := a.sampled(p, ex, detect.DirRequest); g != nil {
			a.scanSampled(g, detect.DirRequest, &ex.Request)
		}
	}
	for i := range ex.Response.Headers {
		a.scanHeader(p, detect.DirResponse, &ex.Response.Headers[i])
	}
	if len(ex.Response.Body) > 0 {
		if g := a.sampled(p, ex, detect.DirResponse); g != nil {
			a.scanSampled(g, detect.DirResponse, &ex.Response)
		}
	}
}

// scanSampled scans a sampled body and tells its group whether it matched.
func (a *Analyzer) scanSampled(g *sampleGroup, dir detect.Direction, msg *exchange.Message) {
	n := len(a.matches)
	a.scanner.ScanBody(dir, msg.ContentType, msg.Body, a.onMatch)
	if len(a.matches) > n {
		g.quiet = 0
	} else {
		g.quiet++
	}
}

// destination resolves where ex went, once per peer: a connection's
// exchanges all go to the same place, and resolving costs name
// normalisation, cache and catalog lookups. The result has its Host and
// TierWeight filled in.
func (a *Analyzer) destination(p *peer, ex *exchange.Exchange) *Destination {
	if p.resolved {
		return &p.dest
	}
	d := a.resolve(ex)
	if d.Host == "" {
		d.Host = ex.Host
	}
	if d.Host == "" && ex.Server.IsValid() {
		d.Host = ex.Server.Addr().String()
	}
	if d.TierWeight <= 0 {
		d.TierWeight = a.cfg.defaultTierWeight()
	}
	p.dest, p.resolved = d, true
	return &p.dest
}

// sampled counts a body of one side of ex and returns its sampling group
// when the body is to be scanned, or nil.
func (a *Analyzer) sampled(p *peer, ex *exchange.Exchange, dir detect.Direction) *sampleGroup {
	if a.sampleKeys >= maxSampleKeys {
		a.services = make(map[netip.AddrPort]*service)
		a.sampleKeys = 0
		a.svcGen++
	}
	if p.svc == nil || p.svcGen != a.svcGen {
		s := a.services[ex.Server]
		if s == nil {
			s = &service{}
			a.services[ex.Server] = s
		}
		p.svc, p.svcGen, p.mc = s, a.svcGen, nil
	}
	if p.mc == nil || p.mc.method != ex.Method {
		p.mc = p.svc.counts(ex.Method)
	}
	side := 0
	if dir == detect.DirResponse {
		side = 1
	}
	g := &p.mc.g[side]
	n := g.n
	if n == 0 {
		a.sampleKeys++
	}
	g.n = n + 1
	after := a.cfg.responseSampleAfter()
	if n < after {
		return g
	}
	every := a.cfg.responseSampleEvery()
	if g.quiet >= after {
		every = a.cfg.responseSampleQuietEvery()
	}
	if n%every != 0 {
		a.stats.SampledOut++
		return nil
	}
	return g
}

// Stats returns the counters.
func (a *Analyzer) Stats() Stats { return a.stats }

// Exchange scans ex and updates flows, credentials and findings. It keeps
// no reference to ex.
func (a *Analyzer) Exchange(ex *exchange.Exchange) {
	a.stats.Exchanges++
	if ex.Direction == exchange.DirInbound && ex.Host != "" && ex.Host != a.lastLocal &&
		len(a.localHosts) < 4096 {
		a.localHosts[ex.Host] = true
		a.lastLocal = ex.Host
	}

	p := a.peerOf(ex)
	a.matches, a.fresh = a.matches[:0], a.fresh[:0]
	a.scan(p, ex)
	if len(a.matches) == 0 {
		return
	}
	a.stats.Matches += int64(len(a.matches))

	d := a.destination(p, ex)
	e := exInfo{
		peer:      p,
		ex:        ex,
		dest:      d,
		at:        ex.Start,
		plaintext: plaintext(ex),
		client:    clientOf(ex),
		auth:      ex.Auth != "",
	}
	if e.at.IsZero() {
		e.at = ex.End
	}
	for _, m := range a.matches {
		if m.Direction == detect.DirRequest && m.Category == detect.CatCredential {
			e.auth = true
		}
	}

	// Made on first use: nearly every exchange has matches, few return
	// personal data to a request without credentials, and a map made for
	// each would cost its hash seed and setup.
	var piiSeen map[string]bool
	for _, m := range a.matches {
		risk := a.risk(m, &e)
		a.flow(m, &e, risk)

		if m.Direction == detect.DirRequest && m.Category == detect.CatCredential {
			a.credential(m, &e, risk)
		}
		if m.Direction == detect.DirResponse && m.Category == detect.CatPII && !e.auth &&
			!piiSeen[m.Class] {
			if piiSeen == nil {
				piiSeen = make(map[string]bool)
			}
			piiSeen[m.Class] = true
			a.raise(finding.PIIUnauthenticated, &e, risk, finding.SevMedium,
				"Personal data ("+m.Class+") returned to a request without credentials",
				evidence(m, "data_class", m.Class, "position", m.Position.String()),
				m.Class)
		}
		if m.Direction == detect.DirRequest && d.External {
			a.policy(m, &e, risk)
		}
	}
}

// exInfo is what every match of one exchange shares.
type exInfo struct {
	peer      *peer
	ex        *exchange.Exchange
	dest      *Destination
	at        time.Time
	plaintext bool
	client    clientID
	auth      bool // the request carried any credential
	// source is sourceOf(ex), built by sourceName when a finding needs
	// it: formatting an address costs an allocation most exchanges can
	// skip.
	source    string
	sourceSet bool
}

// sourceName returns the local party of the exchange (see sourceOf).
func (e *exInfo) sourceName() string {
	if !e.sourceSet {
		e.source, e.sourceSet = sourceOf(e.ex), true
	}
	return e.source
}

// plaintext reports whether the exchange was read off the wire in clear:
// not from a TLS library (the +tls suffix) and not h2, which only runs over
// TLS.
func plaintext(ex *exchange.Exchange) bool {
	return ex.Protocol != "" && !strings.HasSuffix(ex.Protocol, exchange.SuffixTLS) &&
		ex.Protocol != exchange.ProtoH2
}

// sourceOf names the local party of an exchange: the container or process
// when known, the served host for inbound traffic, else the client address.
func sourceOf(ex *exchange.Exchange) string {
	if p := ex.Process; p != nil {
		if p.Container != "" {
			return "container:" + p.Container
		}
		if p.Comm != "" {
			return "process:" + p.Comm
		}
	}
	if ex.Direction == exchange.DirInbound {
		if ex.Host != "" {
			return ex.Host
		}
		return ex.Server.Addr().String()
	}
	if ex.Client.IsValid() {
		return ex.Client.Addr().String()
	}
	return ""
}

// clientID is the party that sent a request: its container when known,
// else its address (without the ephemeral port). It is a value rather than
// a string so that the credential table can be keyed by it without
// formatting an address for every exchange.
type clientID struct {
	container string
	addr      netip.Addr
}

func clientOf(ex *exchange.Exchange) clientID {
	if ex.Direction != exchange.DirInbound && ex.Process != nil && ex.Process.Container != "" {
		return clientID{container: ex.Process.Container}
	}
	if ex.Client.IsValid() {
		return clientID{addr: ex.Client.Addr()}
	}
	return clientID{}
}

// String returns "container:<id>", the address, or "" for no client.
func (c clientID) String() string {
	switch {
	case c.container != "":
		return "container:" + c.container
	case c.addr.IsValid():
		return c.addr.String()
	}
	return ""
}

// risk scores one match: sensitivity × tier weight, multiplied when the data
// is in the URL, in plaintext, or goes to an external destination that is
// undeclared or unclassified.
func (a *Analyzer) risk(m *match, e *exInfo) float64 {
	r := float64(m.Sensitivity) * e.dest.TierWeight
	if m.Position.InURL() {
		r *= a.cfg.urlMultiplier()
	}
	if e.plaintext {
		r *= a.cfg.plaintextMultiplier()
	}
	if e.dest.External {
		switch {
		case e.dest.VendorID == "":
			r *= a.cfg.unclassifiedMultiplier()
		case !e.dest.Declared:
			r *= a.cfg.undeclaredMultiplier()
		}
	}
	return r
}

func (a *Analyzer) flow(m *match, e *exInfo, risk float64) {
	f := a.flowOf(m, e)
	if f == nil {
		return
	}
	f.vendor = e.dest.VendorID
	f.count++
	f.risk = max(f.risk, risk)
	f.plaintext = f.plaintext || e.plaintext
	if e.at.Before(f.first) {
		f.first = e.at
	}
	if e.at.After(f.last) {
		f.last = e.at
	}
}

// flowOf finds (or creates) the flow m belongs to, through the peer's
// shortcuts first. It returns nil when the table is full.
func (a *Analyzer) flowOf(m *match, e *exInfo) *flowState {
	p := e.peer
	id := flowID{m.Class, m.Position, m.Direction}
	for i := range p.nFlows {
		if p.flows[i].id == id {
			return p.flows[i].f
		}
	}
	k := flowKey{e.dest.Host, m.Class, m.Position, m.Direction}
	f, ok := a.flows[k]
	if !ok {
		if len(a.flows) >= a.cfg.maxFlows() {
			a.stats.DroppedFlows++
			return nil
		}
		f = &flowState{first: e.at}
		a.flows[k] = f
	}
	if p.nFlows < maxPeerFlows {
		p.flows[p.nFlows] = peerFlow{id, f}
		p.nFlows++
	}
	return f
}

// credential updates the fingerprint table and raises the credential
// findings for one credential sent in a request.
func (a *Analyzer) credential(m *match, e *exInfo, risk float64) {
	d := e.dest
	issuer := m.Vendor
	if m.Class == detect.ClassJWT && m.claims.Iss != "" {
		issuer = m.claims.Iss
	}

	p := e.peer
	c := p.cred
	if c == nil || p.credFP != m.Fingerprint {
		var ok bool
		c, ok = a.creds[m.Fingerprint]
		if !ok {
			if len(a.creds) >= a.cfg.maxCredentials() {
				a.stats.DroppedCredentials++
			} else {
				c = &credState{typ: m.Class, issuer: issuer, first: e.at, last: e.at,
					clients: make(map[clientID]*clientSeen)}
				a.creds[m.Fingerprint] = c
			}
		}
		if c != nil {
			p.cred, p.credFP, p.seen, p.credDest = c, m.Fingerprint, nil, false
		}
	}
	if c != nil {
		a.credentialSeen(c, m, e, risk)
	}

	if m.Position.InURL() {
		a.raise(finding.CredentialInURL, e, risk, finding.SevMedium,
			"Credential ("+m.Class+") sent in the URL", evidence(m), m.Class)
	}
	if e.plaintext && d.External {
		a.raise(finding.CredentialPlaintext, e, risk, finding.SevHigh,
			"Credential ("+m.Class+") sent in plaintext to "+d.Host, evidence(m), m.Class)
	}
	if m.Vendor != "" && d.External && d.VendorID != m.Vendor &&
		!slices.Contains(d.CredentialTypes, m.Class) {
		a.raise(finding.CredentialWrongIssuer, e, risk, finding.SevHigh,
			"Credential issued by "+m.Vendor+" sent to "+d.Host,
			evidence(m, "issuer", m.Vendor), m.Class)
	}
	if m.Class == detect.ClassJWT {
		a.jwt(m, e, risk)
	}
}

func (a *Analyzer) credentialSeen(c *credState, m *match, e *exInfo, risk float64) {
	if e.at.Before(c.first) {
		c.first = e.at
	}
	if e.at.After(c.last) {
		c.last = e.at
	}
	// A credential's destinations only grow: once the peer has seen its
	// host among them, it need not look again.
	p := e.peer
	if p.cred != c || !p.credDest {
		if !slices.Contains(c.dests, e.dest.Host) && len(c.dests) < a.cfg.maxDestsPerCred() {
			c.dests = append(c.dests, e.dest.Host)
		}
		if p.cred == c {
			p.credDest = slices.Contains(c.dests, e.dest.Host)
		}
	}
	if e.client == (clientID{}) {
		return
	}

	// The peer's shortcut holds when it saw this credential from this
	// client last, and the client was not evicted since.
	seen := p.seen
	if seen == nil || p.cred != c || p.client != e.client || seen.gone {
		seen = c.clients[e.client]
	}
	var prev time.Time
	known := seen != nil
	if known {
		prev = seen.at
	} else {
		if len(c.clients) >= a.cfg.maxClientsPerCred() {
			evictStalest(c.clients)
			c.overflow++
		}
		if e.at.After(c.first.Add(a.cfg.learningWindow())) {
			client := e.client.String()
			a.raise(finding.CredentialNewClient, e, risk, finding.SevMedium,
				"Known credential ("+m.Class+") used from a new client "+client,
				evidence(m, "client", client), m.Fingerprint, client)
		}
	}
	if !known {
		if c.usedFirst {
			seen = &clientSeen{}
		} else {
			seen, c.usedFirst = &c.firstClient, true
		}
		c.clients[e.client] = seen
	}
	seen.at = e.at
	if p.cred == c {
		p.client, p.seen = e.client, seen
	}

	// Recount only when the set of recent clients can have grown.
	win := a.cfg.sharedWindow()
	if !known || e.at.Sub(prev) > win {
		n := 0
		for _, s := range c.clients {
			if e.at.Sub(s.at) <= win {
				n++
			}
		}
		if n > a.cfg.sharedClients() {
			// About the credential, not one client: no source in the id.
			fleet := *e
			fleet.source, fleet.sourceSet = "", true
			a.raise(finding.CredentialShared, &fleet, risk, finding.SevMedium,
				"One credential ("+m.Class+") used by many clients",
				evidence(m, "clients", n, "window", win.String()), m.Fingerprint)
		}
	}
}

func evictStalest(m map[clientID]*clientSeen) {
	var k clientID
	var stalest *clientSeen
	for c, s := range m {
		if stalest == nil || s.at.Before(stalest.at) {
			k, stalest = c, s
		}
	}
	if stalest != nil {
		stalest.gone = true
		delete(m, k)
	}
}

// jwt raises jwt_weak and, for a locally issued token sent to a third
// party, credential_wrong_issuer.
func (a *Analyzer) jwt(m *match, e *exInfo, risk float64) {
	c := &m.claims
	var reason string
	sev := finding.SevMedium
	switch {
	case strings.EqualFold(c.Alg, "none"):
		reason, sev = "alg_none", finding.SevHigh
	case !c.HasExp:
		reason = "no_exp"
	case c.Iat > 0 && c.Exp > c.Iat &&
		time.Duration(c.Exp-c.Iat)*time.Second > a.cfg.jwtMaxLifetime():
		reason = "long_lifetime"
	}
	if reason != "" {
		a.raise(finding.JWTWeak, e, risk, sev, "Weak JWT ("+reason+") from issuer "+
			displayIssuer(c.Iss), evidence(m, "reason", reason), reason, c.Iss)
	}

	if c.Iss != "" && e.dest.External && a.localIssuer(c.Iss) {
		a.raise(finding.CredentialWrongIssuer, e, risk, finding.SevHigh,
			"Locally issued JWT sent to third party "+e.dest.Host,
			evidence(m, "issuer", c.Iss), m.Class, c.Iss)
	}
}

func displayIssuer(iss string) string {
	if iss == "" {
		return "(none)"
	}
	return iss
}

// localIssuer reports whether a JWT iss names this organisation: a listed
// issuer, a host served by a local service, a private or loopback address,
// or a name under a local-only suffix.
func (a *Analyzer) localIssuer(iss string) bool {
	host := iss
	if u, err := url.Parse(iss); err == nil && u.Host != "" {
		host = u.Hostname()
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, l := range a.cfg.LocalIssuers {
		l = strings.ToLower(l)
		if host == l || strings.HasPrefix(l, ".") && strings.HasSuffix(host, l) {
			return true
		}
	}
	if a.localHosts[host] || host == "localhost" {
		return true
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.IsPrivate() || ip.IsLoopback() || ip.IsLinkLocalUnicast()
	}
	for _, s := range [...]string{".local", ".internal", ".svc", ".cluster.local", ".lan",
		".localhost", ".corp", ".intranet"} {
		if strings.HasSuffix(host, s) {
			return true
		}
	}
	return false
}

// policy raises data_policy_violation when the destination may not receive
// the class.
func (a *Analyzer) policy(m *match, e *exInfo, risk float64) {
	d := e.dest
	if m.Category == detect.CatCredential &&
		(slices.Contains(d.CredentialTypes, m.Class) || m.Vendor != "" && m.Vendor == d.VendorID) {
		return
	}
	ok, checked := a.cfg.Policy.allowed(d, m.Class, m.Category.String())
	if ok || !checked {
		return
	}
	a.raise(finding.DataPolicyViolation, e, risk, finding.SevMedium,
		"Data class "+m.Class+" sent to "+d.Host+" (tier "+tierName(d)+") against policy",
		evidence(m, "tier", tierName(d), "data_class", m.Class), m.Class)
}

func tierName(d *Destination) string {
	if d.Tier == "" {
		return "unclassified"
	}
	return d.Tier
}

// evidence builds a finding's evidence from a match: the data class, where
// it was, its fingerprint and preview, and for JWTs the claims. Extra
// key/value pairs follow.
func evidence(m *match, kv ...any) map[string]any {
	ev := map[string]any{
		"data_class":  m.Class,
		"position":    m.Position.String(),
		"direction":   m.Direction.String(),
		"fingerprint": m.Fingerprint,
		"preview":     m.Preview,
	}
	if m.Key != "" {
		ev["key"] = m.Key
	}
	if m.Class == detect.ClassJWT {
		ev["claims"] = m.claims
	}
	for i := 0; i+1 < len(kv); i += 2 {
		ev[kv[i].(string)] = kv[i+1]
	}
	return ev
}

// severityFor raises a type's base severity with the risk score: 20 and
// more is critical, 12 high, 6 medium.
func severityFor(base finding.Severity, risk float64) finding.Severity {
	s := base
	switch {
	case risk >= 20:
		s = max(s, finding.SevCritical)
	case risk >= 12:
		s = max(s, finding.SevHigh)
	case risk >= 6:
		s = max(s, finding.SevMedium)
	}
	return s
}

// raise creates or updates the finding identified by typ, the exchange's
// source and destination, and subject.
func (a *Analyzer) raise(typ string, e *exInfo, risk float64, base finding.Severity,
	title string, ev map[string]any, subject ...string) {
	source := e.sourceName()
	uid := a.uid(typ, source, e.dest.Host, subject)
	sev := severityFor(base, risk)
	if f, ok := a.findings[uid]; ok {
		f.Merge(&finding.Finding{Severity: sev, Risk: risk, FirstSeen: e.at, LastSeen: e.at,
			Count: 1})
		f.Evidence = ev // the latest fingerprint, preview and claims
		f.Title = title
		return
	}
	if len(a.findings) >= a.cfg.maxFindings() {
		a.stats.DroppedFindings++
		return
	}
	a.findings[uid] = &finding.Finding{
		Type: typ, UID: uid, Title: title, Severity: sev, Risk: risk,
		Source: source, Destination: e.dest.Host, Evidence: ev,
		FirstSeen: e.at, LastSeen: e.at, Count: 1,
	}
}

// findingKey is what a finding's UID is made from, with up to two
// subjects.
type findingKey struct {
	typ, source, host string
	subject           [2]string
	n                 int
}

// maxCachedUIDs bounds the UID cache; it starts afresh when full.
const maxCachedUIDs = 16384

// uid returns finding.UID(typ, source, host, subject...), remembered by its
// parts: a finding is raised again on every sighting, and a map lookup
// costs less than the hash, its hex string and the slice of parts.
func (a *Analyzer) uid(typ, source, host string, subject []string) string {
	if len(subject) > 2 {
		return finding.UID(typ, append([]string{source, host}, subject...)...)
	}
	k := findingKey{typ: typ, source: source, host: host, n: len(subject)}
	copy(k.subject[:], subject)
	if uid, ok := a.uids[k]; ok {
		return uid
	}
	uid := finding.UID(typ, append([]string{source, host}, subject...)...)
	if len(a.uids) >= maxCachedUIDs {
		a.uids = make(map[findingKey]string)
	}
	a.uids[k] = uid
	return uid
}
