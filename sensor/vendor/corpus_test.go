package vendor

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/egress"
	"github.com/apitap/apitap/sensor/exchange"
)

// corpusDir finds ../shared/corpus next to the module root, or skips.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package: cannot locate ../shared/corpus")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "truth")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("corpus truth not found at %s: %v", c, err)
	}
	return c
}

// TestCorpusSNIs classifies every TLS and QUIC server name in the corpus
// truth and prints the unclassified registrable domains, so the catalog can
// grow from real traffic. It fails if coverage falls below what the catalog
// reached when this test was written.
func TestCorpusSNIs(t *testing.T) {
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Skipf("no truth files in %s", dir)
	}
	names := make(map[string]int) // SNI → ClientHellos
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var rec struct {
				Kind string `json:"kind"`
				SNI  string `json:"sni"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil {
				continue
			}
			if (rec.Kind == "tls" || rec.Kind == "quic") && rec.SNI != "" {
				names[strings.ToLower(rec.SNI)]++
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
	}
	if len(names) == 0 {
		t.Skip("corpus truth has no TLS server names")
	}

	cat := Default()
	cls := egress.NewClassifier(nil, nil)
	var known, total int
	unknown := make(map[string][]string) // registrable → names
	for name := range names {
		if cls.InternalName(name) {
			continue // IP literals of private hosts, single labels
		}
		total++
		if cat.Match(name) != nil {
			known++
			continue
		}
		reg := egress.Registrable(name)
		unknown[reg] = append(unknown[reg], name)
	}
	regs := make([]string, 0, len(unknown))
	for r := range unknown {
		regs = append(regs, r)
	}
	slices.SortFunc(regs, func(a, b string) int {
		if c := len(unknown[b]) - len(unknown[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	var b strings.Builder
	fmt.Fprintf(&b, "corpus server names: %d external, %d classified (%.0f%%)\n",
		total, known, 100*float64(known)/float64(max(total, 1)))
	fmt.Fprintf(&b, "%-32s %5s  %s\n", "UNCLASSIFIED DOMAIN", "NAMES", "EXAMPLE")
	for i, r := range regs {
		if i == 25 {
			break
		}
		fmt.Fprintf(&b, "%-32s %5d  %s\n", r, len(unknown[r]), unknown[r][0])
	}
	t.Log("\n" + b.String())

	// The catalog covered 94% of these names when this test was written;
	// a drop means a regression in matching or in the catalog.
	if float64(known) < 0.9*float64(total) {
		t.Errorf("catalog classifies %d of %d corpus server names; want at least 90%%", known, total)
	}
}

// TestCorpusDNSNaming replays each corpus file's DNS answers into a Cache
// and asks it to name every TLS flow as if the flow carried no SNI, then
// compares with the SNI. It measures how far DNS alone can name a flow.
func TestCorpusDNSNaming(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	var flows, named, sameHost, sameDomain int
	for _, path := range files {
		recs := readTruth(t, path)
		cache := egress.NewCache(egress.CacheConfig{})
		for _, r := range recs {
			switch {
			case r.Kind == "dns" && r.Response && r.RCode == 0:
				if d := r.dns(); d != nil {
					cache.Add(d)
				}
			case (r.Kind == "tls" || r.Kind == "quic") && r.SNI != "":
				client, server, at, ok := r.endpoints()
				if !ok {
					continue
				}
				flows++
				name, ok := cache.Lookup(client, server, at)
				if !ok {
					continue
				}
				named++
				sni := strings.ToLower(r.SNI)
				if name == sni {
					sameHost++
				}
				if egress.Registrable(name) == egress.Registrable(sni) {
					sameDomain++
				}
			}
		}
	}
	t.Logf("corpus TLS/QUIC flows: %d; named by DNS alone: %d; same host as SNI: %d; "+
		"same registrable domain: %d", flows, named, sameHost, sameDomain)
	if named > 0 && float64(sameDomain) < 0.8*float64(named) {
		t.Errorf("DNS names agree with SNI on the registrable domain for %d of %d flows; want 80%%",
			sameDomain, named)
	}
}

type truthRecord struct {
	Kind     string   `json:"kind"`
	Time     string   `json:"time"`
	Src      string   `json:"src"`
	Dst      string   `json:"dst"`
	SNI      string   `json:"sni"`
	Response bool     `json:"response"`
	QName    string   `json:"qname"`
	RCode    int      `json:"rcode"`
	A        []string `json:"answers_a"`
	AAAA     []string `json:"answers_aaaa"`
	CNAME    []string `json:"answers_cname"`
}

func readTruth(t *testing.T, path string) []truthRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []truthRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r truthRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return out
}

func (r *truthRecord) at() time.Time {
	sec, frac, _ := strings.Cut(r.Time, ".")
	s, err1 := strconv.ParseInt(sec, 10, 64)
	ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}
	}
	return time.Unix(s, ns).UTC()
}

func (r *truthRecord) endpoints() (client, server netip.Addr, at time.Time, ok bool) {
	c, err1 := netip.ParseAddrPort(r.Src)
	s, err2 := netip.ParseAddrPort(r.Dst)
	if err1 != nil || err2 != nil {
		return client, server, at, false
	}
	return c.Addr(), s.Addr(), r.at(), true
}

func (r *truthRecord) dns() *exchange.DNS {
	dst, err := netip.ParseAddrPort(r.Dst)
	if err != nil {
		return nil
	}
	d := &exchange.DNS{Time: r.at(), Client: dst.Addr(), Name: strings.ToLower(r.QName),
		CNAMEs: r.CNAME, TTL: 60}
	for _, s := range append(append([]string{}, r.A...), r.AAAA...) {
		if a, err := netip.ParseAddr(s); err == nil {
			d.Addrs = append(d.Addrs, a)
		}
	}
	return d
}
