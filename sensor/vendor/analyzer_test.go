package vendor

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
)

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func tlsFlow(client, server, sni string, out int64) *exchange.Flow {
	return &exchange.Flow{Start: t0, End: t0.Add(time.Second), Client: ap(client), Server: ap(server),
		Transport: "tcp", Direction: exchange.DirOutbound, AppProto: "tls", SNI: sni, BytesOut: out}
}

func find(tps []ThirdParty, host string) *ThirdParty {
	for i := range tps {
		if tps[i].Hostname == host {
			return &tps[i]
		}
	}
	return nil
}

func findings(a *Analyzer, typ string) []finding.Finding {
	var out []finding.Finding
	for _, f := range a.Findings() {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

func TestAnalyzerSNIOnly(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.Flow(tlsFlow("10.0.0.5:40000", "104.18.7.192:443", "api.openai.com", 1200))
	a.Flow(tlsFlow("10.0.0.5:40001", "104.18.7.192:443", "api.openai.com", 800))

	tps := a.ThirdParties()
	if len(tps) != 1 {
		t.Fatalf("ThirdParties() = %d entries; want 1: %+v", len(tps), tps)
	}
	tp := tps[0]
	if tp.Vendor == nil || *tp.Vendor != "OpenAI" || tp.VendorID != "openai" || tp.Category != "ai" ||
		tp.Tier != "limited" {
		t.Errorf("vendor = %v %q %q %q; want OpenAI openai ai limited", tp.Vendor, tp.VendorID,
			tp.Category, tp.Tier)
	}
	if tp.RegistrableDomain != "openai.com" || tp.Flows != 2 || tp.BytesOut != 2000 || tp.Plaintext {
		t.Errorf("got %+v; want openai.com, 2 flows, 2000 bytes out, not plaintext", tp)
	}
	if !slices.Equal(tp.Evidence, []string{"sni"}) || !slices.Equal(tp.Protocols, []string{"tls"}) {
		t.Errorf("evidence %v protocols %v; want [sni] [tls]", tp.Evidence, tp.Protocols)
	}
	if !slices.Equal(tp.Sources, []string{"10.0.0.5"}) {
		t.Errorf("sources = %v; want [10.0.0.5]", tp.Sources)
	}
	if tp.Declared {
		t.Errorf("declared = true with no declared list; want false")
	}
	fs := a.Findings()
	if len(fs) != 1 || fs[0].Type != finding.VendorCallout || fs[0].Count != 2 ||
		fs[0].Severity != finding.SevInfo || fs[0].Destination != "openai.com" {
		t.Fatalf("Findings() = %+v; want one informational vendor_callout with count 2", fs)
	}
	if want := finding.UID(finding.VendorCallout, "10.0.0.5", "openai.com"); fs[0].UID != want {
		t.Errorf("UID = %s; want %s", fs[0].UID, want)
	}
}

func TestAnalyzerDNSNamedFlow(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.DNS(&exchange.DNS{Time: t0.Add(-time.Second), Client: netip.MustParseAddr("10.0.0.5"),
		Name: "api.segment.io", CNAMEs: []string{"segment-api.elb.amazonaws.com"},
		Addrs: []netip.Addr{netip.MustParseAddr("52.1.2.3"), netip.MustParseAddr("52.1.2.4")}, TTL: 60})
	// No SNI (e.g. TLS without server_name, or an opaque TCP protocol).
	f := tlsFlow("10.0.0.5:40000", "52.1.2.4:443", "", 300)
	f.AppProto = ""
	a.Flow(f)

	tp := find(a.ThirdParties(), "api.segment.io")
	if tp == nil {
		t.Fatalf("ThirdParties() = %+v; want api.segment.io named from DNS", a.ThirdParties())
	}
	if tp.VendorID != "segment" || !slices.Equal(tp.Evidence, []string{"dns"}) ||
		!slices.Equal(tp.Protocols, []string{"tcp"}) {
		t.Errorf("got vendor %q evidence %v protocols %v; want segment [dns] [tcp]",
			tp.VendorID, tp.Evidence, tp.Protocols)
	}
	if len(tp.DNS) != 1 || tp.DNS[0].Name != "api.segment.io" || len(tp.DNS[0].Answers) != 2 ||
		!slices.Equal(tp.DNS[0].CNAMEs, []string{"segment-api.elb.amazonaws.com"}) {
		t.Errorf("dns = %+v; want the answer with 2 addresses and the CNAME", tp.DNS)
	}

	// An SNI flow to an address the client also resolved: both agree.
	a.Flow(tlsFlow("10.0.0.5:40001", "52.1.2.3:443", "api.segment.io", 10))
	tp = find(a.ThirdParties(), "api.segment.io")
	if !slices.Equal(tp.Evidence, []string{"sni", "dns"}) || tp.Flows != 2 {
		t.Errorf("evidence %v flows %d; want [sni dns] 2", tp.Evidence, tp.Flows)
	}

	// After the answer expired (TTL 60 s, minimum hold 5 min), the address
	// is all that is left.
	late := tlsFlow("10.0.0.5:40002", "52.1.2.4:443", "", 1)
	late.Start, late.End = t0.Add(10*time.Minute), t0.Add(11*time.Minute)
	a.Flow(late)
	if find(a.ThirdParties(), "52.1.2.4") == nil {
		t.Errorf("flow after the DNS answer expired not reported by address")
	}
}

func TestAnalyzerPlaintextHTTP(t *testing.T) {
	a := NewAnalyzer(Config{})
	ex := &exchange.Exchange{Start: t0, End: t0.Add(50 * time.Millisecond),
		Client: ap("10.0.0.5:41000"), Server: ap("35.190.1.1:80"), Direction: exchange.DirOutbound,
		Protocol: exchange.ProtoHTTP11, Method: "POST", Host: "API.Mixpanel.com", Path: "/track",
		Auth: "basic", Process: &exchange.Process{PID: 7, Comm: "checkout"}}
	a.Exchange(ex)
	a.Flow(&exchange.Flow{Start: t0, End: t0.Add(time.Second), Client: ap("10.0.0.5:41000"),
		Server: ap("35.190.1.1:80"), Transport: "tcp", Direction: exchange.DirOutbound,
		AppProto: "http", Hosts: []string{"api.mixpanel.com"}, BytesOut: 512,
		Process: &exchange.Process{PID: 7, Comm: "checkout"}})

	tp := find(a.ThirdParties(), "api.mixpanel.com")
	if tp == nil || !tp.Plaintext || tp.VendorID != "mixpanel" || tp.Flows != 1 || tp.BytesOut != 512 {
		t.Fatalf("third party = %+v; want plaintext mixpanel, 1 flow, 512 bytes", tp)
	}
	if !slices.Equal(tp.Protocols, []string{"http"}) || !slices.Equal(tp.Evidence, []string{"http"}) ||
		!slices.Equal(tp.Sources, []string{"checkout"}) {
		t.Errorf("protocols %v evidence %v sources %v; want [http] [http] [checkout]",
			tp.Protocols, tp.Evidence, tp.Sources)
	}
	pf := findings(a, finding.PlaintextVendor)
	if len(pf) != 1 || pf[0].Source != "checkout" || pf[0].Destination != "mixpanel.com" ||
		pf[0].Severity != finding.SevHigh || pf[0].Count != 2 {
		t.Fatalf("plaintext findings = %+v; want one high (credentials in clear) with count 2", pf)
	}
	if pf[0].Evidence["credentials_in_clear"] != true {
		t.Errorf("evidence = %v; want credentials_in_clear", pf[0].Evidence)
	}
	b, _ := json.Marshal(pf)
	if strings.Contains(string(b), "basic") || strings.Contains(string(b), "/track") {
		t.Errorf("finding JSON leaks request details: %s", b)
	}

	// Decrypted TLS (eBPF uprobes) is not plaintext.
	a2 := NewAnalyzer(Config{})
	ex2 := *ex
	ex2.Protocol = exchange.ProtoHTTP11 + exchange.SuffixTLS
	a2.Exchange(&ex2)
	if tp := find(a2.ThirdParties(), "api.mixpanel.com"); tp == nil || tp.Plaintext ||
		!slices.Equal(tp.Protocols, []string{"http", "tls"}) {
		t.Errorf("decrypted exchange: %+v; want not plaintext, protocols [http tls]", tp)
	}
	if n := len(findings(a2, finding.PlaintextVendor)); n != 0 {
		t.Errorf("decrypted exchange raised %d plaintext findings; want 0", n)
	}
}

func TestAnalyzerDeclared(t *testing.T) {
	decl, err := ParseDeclared("v.yaml", []byte(`
vendors: [sentry]
services:
  "api.internal:8080": [openai]
  worker: [stripe]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(Config{Declared: decl})
	// Inbound traffic teaches that 10.0.0.5 serves api.internal:8080.
	a.Exchange(&exchange.Exchange{Start: t0, Client: ap("10.0.9.9:5000"), Server: ap("10.0.0.5:8080"),
		Direction: exchange.DirInbound, Protocol: exchange.ProtoHTTP11, Host: "api.internal:8080"})

	a.Flow(tlsFlow("10.0.0.5:40000", "34.1.1.1:443", "o1.ingest.sentry.io", 1)) // global
	a.Flow(tlsFlow("10.0.0.5:40001", "104.18.7.192:443", "api.openai.com", 1))  // per service
	a.Flow(tlsFlow("10.0.0.5:40002", "35.1.1.1:443", "api.mixpanel.com", 1))    // not declared
	w := tlsFlow("10.0.0.6:40003", "104.18.7.192:443", "api.openai.com", 1)     // other service
	w.Process = &exchange.Process{Comm: "worker"}
	a.Flow(w)
	s := tlsFlow("10.0.0.6:40004", "54.1.1.1:443", "api.stripe.com", 1)
	s.Process = &exchange.Process{Comm: "worker"}
	a.Flow(s)

	tps := a.ThirdParties()
	for host, want := range map[string]bool{"o1.ingest.sentry.io": true, "api.openai.com": false,
		"api.mixpanel.com": false, "api.stripe.com": true} {
		if tp := find(tps, host); tp == nil || tp.Declared != want {
			t.Errorf("%s declared = %v; want %v", host, tp != nil && tp.Declared, want)
		}
	}
	var got []string
	for _, f := range findings(a, finding.UndeclaredVendor) {
		got = append(got, f.Source+"→"+f.Destination+":"+f.Severity.String())
	}
	want := []string{"10.0.0.5→mixpanel.com:High", "worker→openai.com:Medium"}
	if !slices.Equal(got, want) {
		t.Errorf("undeclared findings = %v; want %v", got, want)
	}
	if n := len(findings(a, finding.VendorCallout)); n != 5 {
		t.Errorf("vendor_callout findings = %d; want 5 (one per source and destination)", n)
	}
}

func TestAnalyzerNoDeclaredListFlagsNothing(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.Flow(tlsFlow("10.0.0.5:40002", "35.1.1.1:443", "api.mixpanel.com", 1))
	if n := len(findings(a, finding.UndeclaredVendor)); n != 0 {
		t.Errorf("undeclared findings without a declared list = %d; want 0", n)
	}
}

func TestAnalyzerUnclassified(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.Flow(tlsFlow("10.0.0.5:40000", "198.51.100.7:443", "api.some-startup.example", 10))
	a.Flow(tlsFlow("10.0.0.5:40001", "198.51.100.8:443", "cdn.some-startup.example", 10))
	a.Flow(tlsFlow("10.0.0.5:40002", "198.51.100.9:443", "", 10)) // no name at all
	a.Flow(tlsFlow("10.0.0.5:40003", "198.51.100.10:443", "myapp.herokuapp.com", 10))

	tps := a.ThirdParties()
	if len(tps) != 4 {
		t.Fatalf("ThirdParties() = %d; want 4: %+v", len(tps), tps)
	}
	for _, tp := range tps {
		if tp.Vendor != nil || tp.VendorID != "" {
			t.Errorf("%s: vendor %q; want unclassified", tp.Hostname, tp.VendorID)
		}
	}
	if tp := find(tps, "198.51.100.9"); tp == nil || tp.RegistrableDomain != "198.51.100.9" {
		t.Errorf("bare IP destination = %+v; want hostname and domain 198.51.100.9", tp)
	}
	if tp := find(tps, "myapp.herokuapp.com"); tp == nil || tp.HostedOn != "Heroku" ||
		tp.RegistrableDomain != "myapp.herokuapp.com" {
		t.Errorf("heroku app = %+v; want hosted_on Heroku, domain myapp.herokuapp.com", tp)
	}
	var dests []string
	for _, f := range findings(a, finding.UnclassifiedDestination) {
		dests = append(dests, f.Destination)
		if f.Severity != finding.SevLow {
			t.Errorf("%s severity %v; want low", f.Destination, f.Severity)
		}
	}
	want := []string{"198.51.100.9", "myapp.herokuapp.com", "some-startup.example"}
	if !slices.Equal(dests, want) {
		t.Errorf("unclassified findings = %v; want %v (one per registrable domain)", dests, want)
	}
	if f := findings(a, finding.UnclassifiedDestination)[2]; f.Count != 2 ||
		!slices.Equal(f.Evidence["hostnames"].([]string),
			[]string{"api.some-startup.example", "cdn.some-startup.example"}) {
		t.Errorf("grouped finding = %+v; want count 2 over both host names", f)
	}
}

func TestAnalyzerInternal(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.Flow(tlsFlow("10.0.0.5:40000", "10.0.1.1:443", "payments.default.svc.cluster.local", 1))
	a.Flow(tlsFlow("10.0.0.5:40001", "100.64.3.3:443", "api.stripe.com", 1)) // egress proxy in CGNAT
	a.Flow(tlsFlow("10.0.0.5:40002", "52.2.2.2:443", "db.internal", 1))      // internal name
	a.Exchange(&exchange.Exchange{Start: t0, Client: ap("10.0.0.5:5"), Server: ap("10.0.0.7:8080"),
		Direction: exchange.DirOutbound, Protocol: exchange.ProtoHTTP11, Host: "orders"})
	in := tlsFlow("52.9.9.9:5000", "10.0.0.5:443", "api.example.com", 1)
	in.Direction = exchange.DirInbound
	a.Flow(in)

	if tps := a.ThirdParties(); len(tps) != 0 {
		t.Errorf("ThirdParties() = %+v; want none for internal traffic", tps)
	}
	if fs := a.Findings(); len(fs) != 0 {
		t.Errorf("Findings() = %+v; want none", fs)
	}
}

func TestAnalyzerLimits(t *testing.T) {
	a := NewAnalyzer(Config{MaxDestinations: 3, MaxSources: 2, MaxFindings: 4})
	for i := range 10 {
		a.Flow(tlsFlow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), 40000).String(),
			netip.AddrPortFrom(netip.AddrFrom4([4]byte{52, 0, 0, byte(i)}), 443).String(), "", 1))
	}
	for i := range 5 {
		a.Flow(tlsFlow(netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)}), 40000).String(),
			"52.0.0.0:443", "", 1))
	}
	st := a.Stats()
	if st.Destinations != 3 || st.DroppedDestinations != 7 {
		t.Errorf("destinations %d dropped %d; want 3 and 7", st.Destinations, st.DroppedDestinations)
	}
	// 52.0.0.0 already had 10.0.0.0 as a source: one more fits, four do not.
	if st.DroppedSources != 4 {
		t.Errorf("dropped sources = %d; want 4", st.DroppedSources)
	}
	if n := len(a.Findings()); n != 4 || st.DroppedFindings == 0 {
		t.Errorf("findings = %d, dropped %d; want 4 and some dropped", n, st.DroppedFindings)
	}
}

func TestThirdPartyJSON(t *testing.T) {
	a := NewAnalyzer(Config{})
	a.Flow(tlsFlow("10.0.0.5:40000", "198.51.100.7:443", "x.unknown.example", 10))
	a.Flow(tlsFlow("10.0.0.5:40001", "104.18.7.192:443", "api.openai.com", 10))
	b, err := json.Marshal(a.ThirdParties())
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	keys := []string{"hostname", "registrable_domain", "vendor", "vendor_id", "category", "tier",
		"evidence", "protocols", "plaintext", "flows", "bytes_out", "first_seen", "last_seen",
		"declared", "sources", "dns"}
	for _, m := range got {
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				t.Errorf("%v: missing key %q in %s", m["hostname"], k, b)
			}
		}
	}
	if got[1]["hostname"] != "x.unknown.example" || got[1]["vendor"] != nil {
		t.Errorf("unclassified vendor = %v; want null", got[1]["vendor"])
	}
	if got[0]["vendor"] != "OpenAI" {
		t.Errorf("vendor = %v; want OpenAI", got[0]["vendor"])
	}
}

func BenchmarkAnalyzerFlow(b *testing.B) {
	a := NewAnalyzer(Config{})
	flows := []*exchange.Flow{
		tlsFlow("10.0.0.5:40000", "104.18.7.192:443", "api.openai.com", 1200),
		tlsFlow("10.0.0.6:40000", "34.1.1.1:443", "o1.ingest.sentry.io", 100),
		tlsFlow("10.0.0.7:40000", "198.51.100.9:443", "", 10),
		tlsFlow("10.0.0.8:40000", "198.51.100.7:443", "api.some-startup.example", 10),
	}
	a.DNS(&exchange.DNS{Time: t0, Client: netip.MustParseAddr("10.0.0.7"), Name: "api.segment.io",
		Addrs: []netip.Addr{netip.MustParseAddr("198.51.100.9")}, TTL: 3600})
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range flows {
			a.Flow(f)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(flows)), "ns/flow")
}

func TestFlowAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are checked in full runs")
	}
	a := NewAnalyzer(Config{})
	f := tlsFlow("10.0.0.5:40000", "104.18.7.192:443", "api.openai.com", 1200)
	ip := tlsFlow("10.0.0.5:40000", "198.51.100.9:443", "", 1)
	a.Flow(f)
	a.Flow(ip)
	if n := testing.AllocsPerRun(100, func() { a.Flow(f); a.Flow(ip) }); n != 0 {
		t.Errorf("Flow to a known destination allocates %.1f times; want 0", n)
	}
}

// noAddr takes the addresses off ex.
func noAddr(ex *exchange.Exchange) *exchange.Exchange {
	ex.Client, ex.Server = netip.AddrPort{}, netip.AddrPort{}
	return ex
}

func TestResolve(t *testing.T) {
	decl, err := ParseDeclared("v.yaml", []byte("vendors: [stripe]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := NewAnalyzer(Config{Declared: decl})
	a.DNS(&exchange.DNS{Time: t0, Client: netip.MustParseAddr("10.0.0.5"), Name: "api.openai.com",
		Addrs: []netip.Addr{netip.MustParseAddr("104.18.7.192")}, TTL: 60})
	ex := func(host, server string) *exchange.Exchange {
		return &exchange.Exchange{Start: t0, Client: ap("10.0.0.5:40000"), Server: ap(server),
			Direction: exchange.DirOutbound, Protocol: exchange.ProtoHTTP11, Host: host}
	}
	tests := []struct {
		name                 string
		ex                   *exchange.Exchange
		host, vendor         string
		external, undeclared bool
		tier                 Tier
	}{
		{"declared vendor", ex("api.stripe.com", "54.1.1.1:443"), "api.stripe.com", "stripe", true, false,
			TierTrusted},
		{"named by dns", ex("", "104.18.7.192:443"), "api.openai.com", "openai", true, true, TierLimited},
		{"bare ip", ex("", "198.51.100.1:80"), "198.51.100.1", "", true, true, TierUnknown},
		{"local", ex("orders", "10.0.0.9:80"), "orders", "", false, false, TierUnknown},
		// TLS read from a library that never touched the socket (Node.js):
		// no addresses, the Host alone says where the call went.
		{"no address, by name", noAddr(ex("api.stripe.com", "54.1.1.1:443")), "api.stripe.com",
			"stripe", true, false, TierTrusted},
		{"no address, loopback host", noAddr(ex("127.0.0.1:8443", "54.1.1.1:443")), "127.0.0.1",
			"", false, false, TierUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.Resolve(tt.ex)
			vid := ""
			if r.Vendor != nil {
				vid = r.Vendor.ID
			}
			if r.Hostname != tt.host || vid != tt.vendor || r.External != tt.external ||
				r.Undeclared != tt.undeclared || r.Tier() != tt.tier {
				t.Errorf("Resolve() = %+v (vendor %q); "+
					"want host %s vendor %q external %v undeclared %v tier %v",
					r, vid, tt.host, tt.vendor, tt.external, tt.undeclared, tt.tier)
			}
		})
	}
	if n := len(a.ThirdParties()); n != 0 {
		t.Errorf("Resolve recorded %d third parties; want 0", n)
	}
}
