package vendor

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/egress"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
)

// Config sets up an Analyzer. The zero value works.
type Config struct {
	// Catalog names vendors. Default: Default().
	Catalog *Catalog
	// Classifier tells local from external. Default: built-in ranges and
	// special-use names only.
	Classifier *egress.Classifier
	// Declared is the approved-vendor list. When nil, no list is
	// configured: every third party is reported, none is flagged as
	// undeclared, and ThirdParty.Declared is false.
	Declared *Declared
	// DNS sizes the cache that names flows from DNS answers.
	DNS egress.CacheConfig
	// MaxDestinations bounds the distinct destinations kept; beyond it new
	// ones are counted in Stats.DroppedDestinations. Default 10000.
	MaxDestinations int
	// MaxSources bounds the sources kept per destination. Default 64.
	MaxSources int
	// MaxFindings bounds the findings kept. Default 20000.
	MaxFindings int
	// MaxDNSNames bounds the names whose answers are kept for reports.
	// Default 20000.
	MaxDNSNames int
}

func (c *Config) maxDestinations() int { return orDefault(c.MaxDestinations, 10000) }
func (c *Config) maxSources() int      { return orDefault(c.MaxSources, 64) }
func (c *Config) maxFindings() int     { return orDefault(c.MaxFindings, 20000) }
func (c *Config) maxDNSNames() int     { return orDefault(c.MaxDNSNames, 20000) }

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// Limits on small per-entry sets; beyond them values are dropped silently
// because they only enrich a report.
const (
	maxAnswersPerName  = 16
	maxServicesPerAddr = 8
	maxServiceAddrs    = 4096
	maxHostsPerFinding = 8
)

// Evidence and protocol bits; their names are part of the JSON contract.
const (
	evHTTP uint8 = 1 << iota
	evSNI
	evDNS
)

var evidenceNames = []string{"http", "sni", "dns"}

const (
	protoHTTP uint8 = 1 << iota
	protoTLS
	protoQUIC
	protoTCP
	protoUDP
	protoOther
)

var protocolNames = []string{"http", "tls", "quic", "tcp", "udp", "other"}

// ThirdParty is one external destination host name (or bare IP) and what
// was seen going to it. Field names are the JSON output contract.
type ThirdParty struct {
	Hostname          string `json:"hostname"`
	RegistrableDomain string `json:"registrable_domain"`
	// Vendor is the catalog name, nil (JSON null) when unclassified.
	Vendor   *string `json:"vendor"`
	VendorID string  `json:"vendor_id"`
	Category string  `json:"category"`
	Tier     string  `json:"tier"`
	// HostedOn names the platform when the host sits on a vendor's
	// customer-hosting domain (a Heroku app, a GitHub Pages site): the
	// destination is unclassified, but this says where it runs.
	HostedOn  string    `json:"hosted_on,omitempty"`
	Evidence  []string  `json:"evidence"`
	Protocols []string  `json:"protocols"`
	Plaintext bool      `json:"plaintext"`
	Flows     int64     `json:"flows"`
	BytesOut  int64     `json:"bytes_out"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Declared is true when a declared list is configured and approves
	// this destination for every source seen calling it.
	Declared bool        `json:"declared"`
	Sources  []string    `json:"sources"`
	DNS      []DNSRecord `json:"dns"`
}

// DNSRecord is a name that was queried and what it resolved to.
type DNSRecord struct {
	Name    string       `json:"name"`
	Answers []netip.Addr `json:"answers"`
	CNAMEs  []string     `json:"cnames"`
}

// Stats counts what the analyzer dropped to stay within its limits.
type Stats struct {
	Destinations        int
	DroppedDestinations uint64
	DroppedSources      uint64
	DroppedFindings     uint64
	DNSEvictions        uint64
}

// sourceKey identifies who called: a process name when the source knows
// it, else the client address. Kept as a struct so lookups need no string
// formatting.
type sourceKey struct {
	comm string
	addr netip.Addr
}

func (s sourceKey) String() string {
	if s.comm != "" {
		return s.comm
	}
	return s.addr.String()
}

// destKey identifies a destination: a host name, or an address when no
// name is known.
type destKey struct {
	name string
	ip   netip.Addr
}

type dest struct {
	hostname, registrable string
	vendor, hostedOn      *Vendor
	evidence, protocols   uint8
	plaintext             bool
	flows, bytesOut       int64
	first, last           time.Time
	sources               map[sourceKey]*pair
	undeclared            int // sources not approved for this destination
}

// pair is the state of one (source, destination host) combination.
type pair struct {
	declared bool
}

type findingKey struct {
	typ  string
	src  sourceKey
	dest string // registrable domain or IP
}

type findingState struct {
	f     finding.Finding
	hosts []string
	auth  bool // a plaintext request carried credentials
}

// Analyzer maps outbound traffic to third parties. Feed it with Exchange,
// Flow and DNS in capture order, then read ThirdParties and Findings.
//
// Without a declared list (Config.Declared nil) nothing is flagged as
// undeclared: an unconfigured sensor cannot know what was approved.
//
// An Analyzer is not safe for concurrent use; the caller serialises. Every
// table it keeps is bounded (see Config); Stats reports what was dropped.
type Analyzer struct {
	cfg      Config
	cat      *Catalog
	cls      *egress.Classifier
	cache    *egress.Cache
	dests    map[destKey]*dest
	findings map[findingKey]*findingState
	dnsNames map[string]*DNSRecord
	// services maps a local address to the names clients used to reach
	// the services on it ("api.internal:8080", "api.internal"), learned
	// from inbound exchanges, so declared lists can be keyed by service.
	services map[netip.Addr][]string
	stats    Stats
}

// NewAnalyzer returns an empty Analyzer.
func NewAnalyzer(cfg Config) *Analyzer {
	a := &Analyzer{
		cfg:      cfg,
		cat:      cfg.Catalog,
		cls:      cfg.Classifier,
		cache:    egress.NewCache(cfg.DNS),
		dests:    make(map[destKey]*dest),
		findings: make(map[findingKey]*findingState),
		dnsNames: make(map[string]*DNSRecord),
		services: make(map[netip.Addr][]string),
	}
	if a.cat == nil {
		a.cat = Default()
	}
	if a.cls == nil {
		a.cls = egress.NewClassifier(nil, nil)
	}
	return a
}

// DNS records an answer: it names later flows to the answered addresses,
// and it is listed on the destinations it names. d is not retained.
func (a *Analyzer) DNS(d *exchange.DNS) {
	if d == nil || d.RCode != 0 || d.Name == "" {
		return
	}
	a.cache.Add(d)
	if len(d.Addrs) == 0 && len(d.CNAMEs) == 0 {
		return
	}
	name := egress.NormalizeHost(d.Name)
	if a.cls.InternalName(name) {
		return
	}
	r, ok := a.dnsNames[name]
	if !ok {
		if len(a.dnsNames) >= a.cfg.maxDNSNames() {
			return
		}
		r = &DNSRecord{Name: name}
		a.dnsNames[name] = r
	}
	for _, ip := range d.Addrs {
		if len(r.Answers) < maxAnswersPerName && !slices.Contains(r.Answers, ip) {
			r.Answers = append(r.Answers, ip)
		}
	}
	for _, c := range d.CNAMEs {
		if len(r.CNAMEs) < maxAnswersPerName && !slices.Contains(r.CNAMEs, c) {
			r.CNAMEs = append(r.CNAMEs, c)
		}
	}
}

// Exchange records one HTTP exchange. Inbound exchanges teach the analyzer
// which service names a local address serves; outbound ones to external
// servers are third-party calls. Flow counts and bytes come from Flow, so
// an exchange adds evidence, protocol, plaintext and times only.
func (a *Analyzer) Exchange(ex *exchange.Exchange) {
	if ex == nil {
		return
	}
	server := serverOf(ex)
	if ex.Direction == exchange.DirInbound || a.cls.Local(server) {
		if a.cls.Local(server) && ex.Host != "" {
			a.learnService(server, ex.Host, ex.Server.Port())
		}
		return
	}
	host := egress.NormalizeHost(ex.Host)
	var ev uint8
	switch {
	case host != "":
		ev = evHTTP
	default:
		if name, ok := a.cache.Lookup(ex.Client.Addr(), server, ex.Start); ok {
			host, ev = name, evDNS
		}
	}
	if host != "" && a.cls.InternalName(host) {
		return
	}
	d := a.dest(host, server)
	if d == nil {
		return
	}
	d.evidence |= ev
	d.protocols |= protoHTTP
	plaintext := !strings.HasSuffix(ex.Protocol, exchange.SuffixTLS)
	if plaintext {
		d.plaintext = true
	} else {
		d.protocols |= protoTLS
	}
	end := ex.End
	if end.IsZero() {
		end = ex.Start
	}
	d.seen(ex.Start, end)
	src := sourceOf(ex.Process, ex.Client.Addr())
	a.touch(d, src, ex.Process, ex.Client.Addr(), ex.Start, end)
	if plaintext {
		fs := a.finding(finding.PlaintextVendor, src, d, ex.Start, end)
		if fs != nil && ex.Auth != "" && !fs.auth {
			fs.auth = true
			if fs.f.Severity < finding.SevHigh {
				fs.f.Severity = finding.SevHigh
			}
			fs.f.Risk = max(fs.f.Risk, 80)
		}
	}
}

// Flow records one finished transport flow. Flows to local servers and
// inbound flows are ignored; everything else is a third-party call, named
// by HTTP Host, else SNI, else the client's DNS answer, else the address.
func (a *Analyzer) Flow(f *exchange.Flow) {
	if f == nil || f.Direction == exchange.DirInbound {
		return
	}
	server := f.Server.Addr()
	if !server.IsValid() || a.cls.Local(server) {
		return
	}
	var (
		host string
		ev   uint8
	)
	cached, cacheOK := a.cache.Lookup(f.Client.Addr(), server, f.Start)
	switch {
	case len(f.Hosts) > 0 && f.Hosts[0] != "":
		host, ev = egress.NormalizeHost(f.Hosts[0]), evHTTP
		if f.SNI != "" && egress.NormalizeHost(f.SNI) == host {
			ev |= evSNI
		}
	case f.SNI != "":
		host, ev = egress.NormalizeHost(f.SNI), evSNI
	case cacheOK:
		host, ev = cached, evDNS
	}
	if cacheOK && cached == host {
		ev |= evDNS // the client's own answer agrees
	}
	if host != "" && a.cls.InternalName(host) {
		return
	}
	d := a.dest(host, server)
	if d == nil {
		return
	}
	d.evidence |= ev
	switch f.AppProto {
	case "http", "h2c":
		d.protocols |= protoHTTP
		d.plaintext = true
	case "tls":
		d.protocols |= protoTLS
	case "quic":
		d.protocols |= protoQUIC
	case "":
		switch f.Transport {
		case "tcp":
			d.protocols |= protoTCP
		case "udp":
			d.protocols |= protoUDP
		default:
			d.protocols |= protoOther
		}
	default:
		d.protocols |= protoOther
	}
	d.flows++
	d.bytesOut += f.BytesOut
	d.seen(f.Start, f.End)
	// A flow whose HTTP exchanges were reported already counted in the
	// findings once per exchange; counting the flow too would double it.
	if f.Exchanges > 0 {
		return
	}
	src := sourceOf(f.Process, f.Client.Addr())
	a.touch(d, src, f.Process, f.Client.Addr(), f.Start, f.End)
	if f.AppProto == "http" || f.AppProto == "h2c" {
		a.finding(finding.PlaintextVendor, src, d, f.Start, f.End)
	}
}

// Stats returns the drop counters.
func (a *Analyzer) Stats() Stats {
	s := a.stats
	s.Destinations = len(a.dests)
	s.DNSEvictions = a.cache.Evictions()
	return s
}

func sourceOf(p *exchange.Process, client netip.Addr) sourceKey {
	if p != nil && p.Comm != "" {
		return sourceKey{comm: p.Comm}
	}
	return sourceKey{addr: client.Unmap()}
}

// dest returns the destination for host (or for ip when host is empty),
// creating it within the limit; nil when the limit was hit.
func (a *Analyzer) dest(host string, ip netip.Addr) *dest {
	k := destKey{name: host}
	if host == "" {
		k.ip = ip.Unmap()
	}
	if d, ok := a.dests[k]; ok {
		return d
	}
	if len(a.dests) >= a.cfg.maxDestinations() {
		a.stats.DroppedDestinations++
		return nil
	}
	d := &dest{hostname: host, sources: make(map[sourceKey]*pair)}
	if host == "" {
		d.hostname = k.ip.String()
		d.registrable = d.hostname
	} else {
		d.registrable = egress.Registrable(host)
		i, hosted := a.cat.lookup(host)
		switch {
		case i >= 0 && hosted:
			d.hostedOn = &a.cat.vendors[i]
		case i >= 0:
			d.vendor = &a.cat.vendors[i]
		}
	}
	a.dests[k] = d
	return d
}

func (d *dest) seen(start, end time.Time) {
	if d.first.IsZero() || (!start.IsZero() && start.Before(d.first)) {
		d.first = start
	}
	if end.After(d.last) {
		d.last = end
	}
}

// touch records that src called d, and raises the per-pair findings.
func (a *Analyzer) touch(d *dest, src sourceKey, p *exchange.Process, client netip.Addr,
	start, end time.Time) {
	pr, ok := d.sources[src]
	if !ok {
		if len(d.sources) >= a.cfg.maxSources() {
			a.stats.DroppedSources++
		} else {
			pr = &pair{declared: a.declared(d, p, client)}
			d.sources[src] = pr
			if !pr.declared {
				d.undeclared++
			}
		}
	}
	if d.vendor != nil {
		a.finding(finding.VendorCallout, src, d, start, end)
	} else {
		a.finding(finding.UnclassifiedDestination, src, d, start, end)
	}
	// An unclassified destination is already reported as such; calling it
	// an undeclared vendor as well would name a vendor nobody identified.
	if a.cfg.Declared != nil && pr != nil && !pr.declared && d.vendor != nil {
		a.finding(finding.UndeclaredVendor, src, d, start, end)
	}
}

// declared runs once per (source, destination): it builds the source's
// identities, which costs a few allocations.
func (a *Analyzer) declared(d *dest, p *exchange.Process, client netip.Addr) bool {
	if a.cfg.Declared == nil {
		return false
	}
	ids := make([]string, 0, 8)
	if p != nil {
		for _, s := range []string{p.Comm, p.Container, p.Pod} {
			if s != "" {
				ids = append(ids, s)
			}
		}
	}
	if client.IsValid() {
		client = client.Unmap()
		ids = append(ids, client.String())
		ids = append(ids, a.services[client]...)
	}
	return a.cfg.Declared.Allows(ids, d.vendor, d.hostname)
}

func (a *Analyzer) learnService(addr netip.Addr, host string, port uint16) {
	host = egress.NormalizeHost(host)
	if host == "" {
		return
	}
	addr = addr.Unmap()
	names, ok := a.services[addr]
	if !ok && len(a.services) >= maxServiceAddrs {
		return
	}
	if slices.Contains(names, host) || len(names)+2 > maxServicesPerAddr {
		return
	}
	names = append(names, host, host+":"+strconv.Itoa(int(port)))
	a.services[addr] = names
}

// finding creates or updates the finding of type typ for (src, d).
func (a *Analyzer) finding(typ string, src sourceKey, d *dest, start, end time.Time) *findingState {
	k := findingKey{typ: typ, src: src, dest: d.registrable}
	fs, ok := a.findings[k]
	if !ok {
		if len(a.findings) >= a.cfg.maxFindings() {
			a.stats.DroppedFindings++
			return nil
		}
		fs = a.newFinding(typ, src, d)
		a.findings[k] = fs
	}
	fs.f.Count++
	if fs.f.FirstSeen.IsZero() || (!start.IsZero() && start.Before(fs.f.FirstSeen)) {
		fs.f.FirstSeen = start
	}
	if end.After(fs.f.LastSeen) {
		fs.f.LastSeen = end
	}
	if len(fs.hosts) < maxHostsPerFinding && !slices.Contains(fs.hosts, d.hostname) {
		fs.hosts = append(fs.hosts, d.hostname)
	}
	return fs
}

// newFinding sets type, identity, title and severity. A finding's Count is
// the number of flows and exchanges that showed it. Severities and risk
// scores (0-100):
//
//   - vendor_callout: informational, risk 0; it records that a source
//     calls a known vendor, the inventory's "first seen" event.
//   - unclassified_destination: low, risk 20; an external name the catalog
//     does not know (or a bare address), to be reviewed and catalogued.
//   - undeclared_vendor: severity by tier, since what matters is what the
//     vendor may receive: minimal high (70), limited and unknown medium
//     (50), trusted medium (40), critical low (25).
//   - plaintext_vendor: medium (50), high (80) when a request carried
//     credentials or the vendor's tier is critical or trusted (it receives
//     sensitive data by design).
func (a *Analyzer) newFinding(typ string, src sourceKey, d *dest) *findingState {
	srcName := src.String()
	name := d.registrable
	if d.vendor != nil {
		name = d.vendor.Name + " (" + d.registrable + ")"
	}
	fs := &findingState{f: finding.Finding{
		Type:        typ,
		UID:         finding.UID(typ, srcName, d.registrable),
		Source:      srcName,
		Destination: d.registrable,
	}}
	f := &fs.f
	tier := TierUnknown
	if d.vendor != nil {
		tier = d.vendor.Tier
	}
	switch typ {
	case finding.VendorCallout:
		f.Title = srcName + " calls " + name
		f.Severity = finding.SevInfo
	case finding.UnclassifiedDestination:
		f.Title = srcName + " calls unclassified destination " + d.registrable
		f.Severity, f.Risk = finding.SevLow, 20
	case finding.UndeclaredVendor:
		f.Title = srcName + " calls undeclared vendor " + name
		switch tier {
		case TierMinimal:
			f.Severity, f.Risk = finding.SevHigh, 70
		case TierTrusted:
			f.Severity, f.Risk = finding.SevMedium, 40
		case TierCritical:
			f.Severity, f.Risk = finding.SevLow, 25
		default:
			f.Severity, f.Risk = finding.SevMedium, 50
		}
	case finding.PlaintextVendor:
		f.Title = srcName + " sends plaintext HTTP to " + name
		f.Severity, f.Risk = finding.SevMedium, 50
		if tier == TierCritical || tier == TierTrusted {
			f.Severity, f.Risk = finding.SevHigh, 80
		}
	}
	return fs
}

// ThirdParties returns every external destination seen, sorted by
// registrable domain then host name. The result is a fresh copy owned by
// the caller.
func (a *Analyzer) ThirdParties() []ThirdParty {
	out := make([]ThirdParty, 0, len(a.dests))
	for _, d := range a.dests {
		tp := ThirdParty{
			Hostname:          d.hostname,
			RegistrableDomain: d.registrable,
			Evidence:          bitNames(d.evidence, evidenceNames),
			Protocols:         bitNames(d.protocols, protocolNames),
			Plaintext:         d.plaintext,
			Flows:             d.flows,
			BytesOut:          d.bytesOut,
			FirstSeen:         d.first,
			LastSeen:          d.last,
			Declared:          a.cfg.Declared != nil && d.undeclared == 0 && len(d.sources) > 0,
			Sources:           make([]string, 0, len(d.sources)),
			DNS:               []DNSRecord{},
		}
		if v := d.vendor; v != nil {
			name := v.Name
			tp.Vendor, tp.VendorID = &name, v.ID
			tp.Category, tp.Tier = string(v.Category), v.Tier.String()
		}
		if d.hostedOn != nil {
			tp.HostedOn = d.hostedOn.Name
		}
		for s := range d.sources {
			tp.Sources = append(tp.Sources, s.String())
		}
		slices.Sort(tp.Sources)
		if r, ok := a.dnsNames[d.hostname]; ok {
			tp.DNS = append(tp.DNS, DNSRecord{
				Name:    r.Name,
				Answers: slices.Clone(r.Answers),
				CNAMEs:  append([]string{}, r.CNAMEs...),
			})
		}
		out = append(out, tp)
	}
	slices.SortFunc(out, func(x, y ThirdParty) int {
		if c := strings.Compare(x.RegistrableDomain, y.RegistrableDomain); c != 0 {
			return c
		}
		return strings.Compare(x.Hostname, y.Hostname)
	})
	return out
}

// Findings returns the findings so far, sorted by type, destination and
// source. Each is a copy; calling again returns updated counts under the
// same UIDs.
func (a *Analyzer) Findings() []finding.Finding {
	out := make([]finding.Finding, 0, len(a.findings))
	for _, fs := range a.findings {
		f := fs.f
		f.Evidence = map[string]any{"hostnames": slices.Clone(fs.hosts)}
		if d := a.firstDest(fs.hosts); d != nil {
			if d.vendor != nil {
				f.Evidence["vendor_id"] = d.vendor.ID
				f.Evidence["vendor"] = d.vendor.Name
				f.Evidence["category"] = string(d.vendor.Category)
				f.Evidence["tier"] = d.vendor.Tier.String()
			}
			if d.hostedOn != nil {
				f.Evidence["hosted_on"] = d.hostedOn.Name
			}
			f.Evidence["evidence"] = bitNames(d.evidence, evidenceNames)
		}
		if fs.auth {
			f.Evidence["credentials_in_clear"] = true
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(x, y finding.Finding) int {
		if c := strings.Compare(x.Type, y.Type); c != 0 {
			return c
		}
		if c := strings.Compare(x.Destination, y.Destination); c != 0 {
			return c
		}
		return strings.Compare(x.Source, y.Source)
	})
	return out
}

func (a *Analyzer) firstDest(hosts []string) *dest {
	if len(hosts) == 0 {
		return nil
	}
	if d, ok := a.dests[destKey{name: hosts[0]}]; ok {
		return d
	}
	if ip, err := netip.ParseAddr(hosts[0]); err == nil {
		return a.dests[destKey{ip: ip}]
	}
	return nil
}

func bitNames(bits uint8, names []string) []string {
	out := []string{}
	for i, n := range names {
		if bits&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// serverOf returns the address ex went to: the server's or, for a TLS
// stream read without its socket (Node.js), an address written as the Host
// header, so that a call to a local address is still known as local.
func serverOf(ex *exchange.Exchange) netip.Addr {
	if a := ex.Server.Addr(); a.IsValid() {
		return a
	}
	a, _ := netip.ParseAddr(egress.NormalizeHost(ex.Host))
	return a
}
