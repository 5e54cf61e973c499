//go:build e2e

package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// site is one name the fake internet answers for.
type site struct {
	name string
	addr netip.Addr // an RFC 5737 documentation address, only inside the lab
}

// internet is a lab with two namespaces: "inet", where nginx serves every
// site over HTTP (80) and HTTPS (443, one self-signed certificate naming them
// all) and dnsmasq resolves their names, and "svc", the monitored host, whose
// programs resolve through that dnsmasq and reach the documentation
// prefixes through the veth link. tcpdump records svc's side of the link.
type internet struct {
	inet, svc *Namespace
	link      Link
	capture   *Capture
	pcap      string
}

// newInternet builds the lab for sites and starts the capture. It skips t
// unless it runs as root with ip, nginx, dnsmasq, tcpdump, curl and openssl.
func newInternet(t *testing.T, sites []site) *internet {
	t.Helper()
	l := New(t)
	Require(t, "nginx", "dnsmasq", "tcpdump", "curl", "openssl")
	in := &internet{inet: l.Namespace("inet"), svc: l.Namespace("svc")}
	in.link = l.Link(in.inet, in.svc)

	// The sites' addresses live on inet's end of the link, so the host
	// never sees them; svc routes the two documentation prefixes there.
	for _, s := range sites {
		if err := run("ip", "-n", in.inet.Name, "addr", "add", s.addr.String()+"/32",
			"dev", in.link.IfA); err != nil {
			t.Fatalf("add %s: %v", s.addr, err)
		}
	}
	for _, p := range []string{"198.51.100.0/24", "203.0.113.0/24"} {
		if err := run("ip", "-n", in.svc.Name, "route", "add", p, "via",
			in.link.A.String()); err != nil {
			t.Fatalf("route %s: %v", p, err)
		}
	}

	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	var san []string
	for _, s := range sites {
		san = append(san, "DNS:"+s.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ossl := exec.CommandContext(ctx, "openssl", "req", "-x509", "-newkey", "ec",
		"-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
		"-subj", "/CN=lab vendors", "-addext", "subjectAltName="+strings.Join(san, ","),
		"-keyout", key, "-out", cert)
	if out, err := ossl.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}

	var servers strings.Builder
	for _, s := range sites {
		fmt.Fprintf(&servers, `
	server {
		listen %[1]s:80;
		listen %[1]s:443 ssl;
		server_name %[2]s;
		ssl_certificate %[3]s;
		ssl_certificate_key %[4]s;
		location / { return 200 '{"ok":true,"site":"%[2]s"}'; }
	}`, s.addr, s.name, cert, key)
	}
	conf := NginxHTTP(servers.String())
	in.inet.NginxConfig(t, netip.AddrPortFrom(sites[0].addr, 443), conf)

	hosts := map[string]netip.Addr{}
	for _, s := range sites {
		hosts[s.name] = s.addr
	}
	in.inet.Dnsmasq(t, in.link.A, hosts)
	in.svc.UseNameserver(t, in.link.A)

	in.pcap = filepath.Join(t.TempDir(), "cap.pcap")
	in.capture = in.svc.Tcpdump(t, in.link.IfB, in.pcap)
	return in
}

// curl runs curl in svc with args (after -sS and a 5 s limit) and returns
// the HTTP status it printed; it fails t when curl fails.
func (in *internet) curl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	full := append([]string{"-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}"},
		args...)
	var stderr bytes.Buffer
	cmd := in.svc.Command(ctx, "curl", full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		// The URL is the last argument; headers may hold test secrets.
		t.Fatalf("curl %s: %v\n%s", args[len(args)-1], err, stderr.String())
	}
	return string(out)
}

// stop ends the capture and returns the pcap path.
func (in *internet) stop(t *testing.T) string {
	t.Helper()
	if err := in.capture.Stop(); err != nil {
		t.Fatal(err)
	}
	captured, dropped := in.capture.Stats()
	t.Logf("tcpdump: %d packets captured, %d dropped by kernel", captured, dropped)
	return in.pcap
}

// buildApitap builds ./cmd/apitap into a temp dir of t (the build cache
// makes every build after the first a link step).
func buildApitap(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "apitap")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/apitap")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build apitap: %v\n%s", err, out)
	}
	return bin
}

// apitapRun is what one `apitap read` wrote.
type apitapRun struct {
	stdout, stderr []byte
	err            error
}

// runApitap runs bin with args (a fresh fingerprint key in a temp dir is
// added) for at most a minute.
func runApitap(t *testing.T, bin string, args ...string) apitapRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append(args, "--no-progress", "--key-file", filepath.Join(t.TempDir(), "fp.key"))
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return apitapRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), err: err}
}

// report is the part of `apitap read --format json` these tests check,
// decoded by the field names README.md's output contract promises.
type report struct {
	Summary struct {
		Packets   uint64 `json:"packets"`
		Exchanges uint64 `json:"exchanges"`
		TLSFlows  uint64 `json:"tls_flows"`
		DNS       uint64 `json:"dns_messages"`
	} `json:"summary"`
	ThirdParties []struct {
		Hostname  string   `json:"hostname"`
		Vendor    *string  `json:"vendor"`
		VendorID  string   `json:"vendor_id"`
		Evidence  []string `json:"evidence"`
		Protocols []string `json:"protocols"`
		Plaintext bool     `json:"plaintext"`
		Flows     int64    `json:"flows"`
		Declared  bool     `json:"declared"`
		Sources   []string `json:"sources"`
	} `json:"third_parties"`
	DataFlows []struct {
		Destination string `json:"destination"`
		Vendor      string `json:"vendor"`
		DataClass   string `json:"data_class"`
		Position    string `json:"position"`
		Direction   string `json:"direction"`
		Count       int64  `json:"count"`
		Plaintext   bool   `json:"plaintext"`
	} `json:"data_flows"`
	Findings []struct {
		Type        string         `json:"type"`
		UID         string         `json:"uid"`
		Title       string         `json:"title"`
		Severity    string         `json:"severity"`
		Source      string         `json:"source"`
		Destination string         `json:"destination"`
		Evidence    map[string]any `json:"evidence"`
		Count       int64          `json:"count"`
	} `json:"findings"`
}

func decodeReport(t *testing.T, r apitapRun) *report {
	t.Helper()
	if r.err != nil {
		t.Fatalf("apitap read: %v\n%s", r.err, r.stderr)
	}
	var rep report
	if err := json.Unmarshal(r.stdout, &rep); err != nil {
		t.Fatalf("apitap read --format json: %v", err)
	}
	return &rep
}

// vendorCase is one destination of the vendor lab and what apitap must say
// about it.
type vendorCase struct {
	site
	tls      bool
	path     string
	vendorID string // "" for the unclassified one
	declared bool
}

// vendorCases call six catalogued vendors and one unknown SaaS. The
// declared list (testdata/vendors/declared.yaml) approves anthropic, sentry,
// stripe and slack-webhooks; openai and segment are undeclared. segment and
// the Slack webhook go over plain HTTP.
var vendorCases = []vendorCase{
	{site{"api.openai.com", netip.MustParseAddr("198.51.100.11")}, true,
		"/v1/chat/completions", "openai", false},
	{site{"api.anthropic.com", netip.MustParseAddr("198.51.100.12")}, true,
		"/v1/messages", "anthropic", true},
	{site{"api.segment.io", netip.MustParseAddr("198.51.100.13")}, false,
		"/v1/track", "segment", false},
	{site{"o123.ingest.sentry.io", netip.MustParseAddr("203.0.113.14")}, true,
		"/api/4506/envelope/", "sentry", true},
	{site{"api.stripe.com", netip.MustParseAddr("203.0.113.15")}, true,
		"/v1/charges", "stripe", true},
	{site{"hooks.slack.com", netip.MustParseAddr("203.0.113.16")}, false,
		"/services/T0LAB/B0LAB/notasecret", "slack-webhooks", true},
	{site{"api.some-unknown-saas.example", netip.MustParseAddr("203.0.113.17")}, true,
		"/v2/sync", "", false},
}

func TestVendors(t *testing.T) {
	sites := make([]site, len(vendorCases))
	for i, c := range vendorCases {
		sites[i] = c.site
	}
	in := newInternet(t, sites)
	bin := buildApitap(t)

	// Two calls per destination, each its own curl process and so its own
	// DNS lookup and connection.
	const calls = 2
	for range calls {
		for _, c := range vendorCases {
			scheme := "http"
			args := []string{"-X", "POST", "-H", "Content-Type: application/json",
				"-d", `{"event":"ping"}`}
			if c.tls {
				scheme = "https"
				args = append(args, "-k")
			}
			if code := in.curl(t, append(args, scheme+"://"+c.name+c.path)...); code != "200" {
				t.Fatalf("%s: status %s; want 200", c.name, code)
			}
		}
	}
	pcap := in.stop(t)

	declared, err := filepath.Abs("testdata/vendors/declared.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rep := decodeReport(t, runApitap(t, bin, "read", "-r", pcap, "--format", "json",
		"--vendors", declared))
	t.Logf("summary: %d packets, %d exchanges, %d TLS flows, %d DNS messages; "+
		"%d third parties, %d findings", rep.Summary.Packets, rep.Summary.Exchanges,
		rep.Summary.TLSFlows, rep.Summary.DNS, len(rep.ThirdParties), len(rep.Findings))

	byHost := map[string]int{}
	for i, tp := range rep.ThirdParties {
		byHost[tp.Hostname] = i
	}
	hasFinding := func(typ, host string) bool {
		// Vendor findings name the registrable domain and list the
		// hostnames in their evidence.
		for _, f := range rep.Findings {
			if f.Type != typ {
				continue
			}
			if f.Destination == host || strings.HasSuffix(host, "."+f.Destination) {
				return true
			}
			if hs, ok := f.Evidence["hostnames"].([]any); ok && slices.Contains(hs, any(host)) {
				return true
			}
		}
		return false
	}

	client := in.link.B.String()
	for _, c := range vendorCases {
		t.Run(c.name, func(t *testing.T) {
			i, ok := byHost[c.name]
			if !ok {
				t.Fatalf("third_parties has no %s", c.name)
			}
			tp := rep.ThirdParties[i]
			switch {
			case c.vendorID == "" && tp.Vendor != nil:
				t.Errorf("vendor = %q; want null (unclassified)", *tp.Vendor)
			case c.vendorID != "" && tp.Vendor == nil:
				t.Errorf("vendor = null; want the catalog's name for %s", c.vendorID)
			}
			if tp.VendorID != c.vendorID {
				t.Errorf("vendor_id = %q; want %q", tp.VendorID, c.vendorID)
			}
			want := []string{"http", "dns"}
			if c.tls {
				want = []string{"sni", "dns"}
			}
			for _, ev := range want {
				if !slices.Contains(tp.Evidence, ev) {
					t.Errorf("evidence = %v; want it to hold %q", tp.Evidence, ev)
				}
			}
			if c.tls && slices.Contains(tp.Evidence, "http") {
				t.Errorf("evidence = %v; a TLS-only destination has no http evidence",
					tp.Evidence)
			}
			if tp.Plaintext != !c.tls {
				t.Errorf("plaintext = %v; want %v", tp.Plaintext, !c.tls)
			}
			if tp.Declared != c.declared {
				t.Errorf("declared = %v; want %v", tp.Declared, c.declared)
			}
			if tp.Flows != calls {
				t.Errorf("flows = %d; want %d", tp.Flows, calls)
			}
			if !slices.Contains(tp.Sources, client) {
				t.Errorf("sources = %v; want %s", tp.Sources, client)
			}

			checks := []struct {
				typ  string
				want bool
			}{
				{"plaintext_vendor", !c.tls},
				{"unclassified_destination", c.vendorID == ""},
				{"vendor_callout", c.vendorID != ""},
			}
			// An unknown destination is not on the declared list either;
			// whether that also makes it undeclared_vendor is apitap's
			// choice (today it does), so only catalogued ones are checked.
			if c.vendorID != "" {
				checks = append(checks, struct {
					typ  string
					want bool
				}{"undeclared_vendor", !c.declared})
			}
			for _, ck := range checks {
				if got := hasFinding(ck.typ, c.name); got != ck.want {
					t.Errorf("finding %s for %s: got %v; want %v", ck.typ, c.name, got, ck.want)
				}
			}
		})
	}

	// Nothing outside the lab's sites is a third party: the lab has no other
	// external address.
	for _, tp := range rep.ThirdParties {
		known := func(c vendorCase) bool { return c.name == tp.Hostname }
		if !slices.ContainsFunc(vendorCases, known) {
			t.Errorf("third party %s is none of the lab's sites", tp.Hostname)
		}
	}
}
