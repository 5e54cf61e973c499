package engine

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/internal/corpus"
)

// collector keeps what the engine emits, as the tests need it.
type collector struct {
	exchanges []exchange.Exchange
	flows     []exchange.Flow
	dns       []exchange.DNS
}

func (c *collector) Exchange(ex *exchange.Exchange) { c.exchanges = append(c.exchanges, *ex) }
func (c *collector) Flow(f *exchange.Flow)          { c.flows = append(c.flows, *f) }
func (c *collector) DNS(d *exchange.DNS)            { c.dns = append(c.dns, *d) }

func runFile(t testing.TB, path string, workers int) (*collector, *Summary) {
	src, err := capture.OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	defer src.Close()
	col := &collector{}
	var emit Emitter = col
	if workers > 1 {
		emit = Locked(col)
	}
	sum := Run(src, &Config{}, workers, emit, nil)
	return col, sum
}

// reqKey identifies a request for matching: the connection and the target
// path. tshark's uri is the target as sent; ours splits path and query.
type reqKey struct {
	client, server string
	method, path   string
}

// upgradeRequest reports an HTTP/1.1 request that upgraded its connection
// to h2c: tshark lists it among the HTTP/1.x requests.
func upgradeRequest(ex *exchange.Exchange) bool {
	v, ok := ex.Request.Header("upgrade")
	return ok && strings.Contains(strings.ToLower(v), "h2c")
}

func truthPath(uri string) string {
	if i := strings.Index(uri, "://"); i > 0 && !strings.HasPrefix(uri, "/") {
		rest := uri[i+3:]
		if j := strings.IndexAny(rest, "/?"); j >= 0 {
			uri = rest[j:]
		} else {
			uri = "/"
		}
	}
	if i := strings.IndexAny(uri, "?#"); i >= 0 {
		uri = uri[:i]
	}
	if uri == "" {
		uri = "/"
	}
	return uri
}

func normAddr(s string) string {
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return s
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// explained lists requests apitap reports that tshark does not, by file,
// with the reason. Every extra must be listed here.
var explained = map[string]string{
	"suricata-verify__http-gap-simple_input.pcap": "tshark stops decoding the connection at " +
		"the lost segment; apitap resynchronises at the next request line",
}

// TestCorpusRecall compares the HTTP/1.x requests apitap extracts from
// every corpus capture with the ones tshark decoded, and the response
// status where tshark paired one.
func TestCorpusRecall(t *testing.T) {
	var totalTruth, totalFound, totalStatus, totalStatusOK, totalExtra int
	var rows []string
	for _, f := range corpus.Files(t) {
		name := filepath.Base(f)
		truth := corpus.ReadTruth(t, f)
		col, _ := runFile(t, f, 1)
		got := map[reqKey][]int{} // key → statuses of our exchanges
		for _, ex := range col.exchanges {
			if strings.HasPrefix(ex.Protocol, "h2") && !upgradeRequest(&ex) {
				continue // HTTP/2 streams are compared separately
			}
			// A target with spaces in it (an attack, not HTTP) is cut by
			// tshark at the first space; apitap keeps it up to the
			// version. Compare what both have.
			path, _, _ := strings.Cut(ex.Path, " ")
			k := reqKey{normAddr(ex.Client.String()), normAddr(ex.Server.String()), ex.Method, path}
			got[k] = append(got[k], ex.Status)
		}
		var n, found, withStatus, statusOK int
		var missing []string
		for _, tr := range truth {
			if tr.Kind != "http" {
				continue
			}
			n++
			k := reqKey{normAddr(tr.Src), normAddr(tr.Dst), tr.Method, truthPath(tr.URI)}
			st := got[k]
			if len(st) == 0 {
				if len(missing) < 3 {
					missing = append(missing, fmt.Sprintf("frame %d %s %s", tr.Frame, tr.Method, tr.URI))
				}
				continue
			}
			found++
			if tr.UpgradedH2Status != nil {
				tr.Status = tr.UpgradedH2Status
			}
			if tr.Status != nil {
				withStatus++
				for i, s := range st {
					if s == *tr.Status {
						statusOK++
						st = append(st[:i], st[i+1:]...)
						break
					}
				}
				if len(st) == len(got[k]) { // no status matched: consume one anyway
					st = st[1:]
				}
			} else {
				st = st[1:]
			}
			got[k] = st
		}
		extra := 0
		for _, st := range got {
			extra += len(st)
		}
		totalTruth += n
		totalFound += found
		totalStatus += withStatus
		totalStatusOK += statusOK
		totalExtra += extra
		if n == 0 && extra == 0 {
			continue
		}
		rows = append(rows, fmt.Sprintf("%-66.66s %5d %5d %5d/%-5d %4d %s", name, n, found,
			statusOK, withStatus, extra, strings.Join(missing, "; ")))
		if extra > 0 && explained[name] == "" {
			t.Errorf("%s: %d requests that tshark did not report, with no explanation", name, extra)
		}
	}
	sort.Strings(rows)
	t.Logf("%-66s %5s %5s %11s %4s %s", "file", "tshark", "found", "status ok", "extra", "first missing")
	for _, r := range rows {
		t.Log(r)
	}
	recall := float64(totalFound) / float64(totalTruth)
	t.Logf("requests: %d of %d (recall %.4f); statuses matched: %d of %d; extras: %d",
		totalFound, totalTruth, recall, totalStatusOK, totalStatus, totalExtra)
	if recall < 0.995 {
		t.Errorf("recall %.4f of tshark's HTTP requests; want ≥ 0.995", recall)
	}
}

// TestCorpusHTTP2 compares the HTTP/2 requests (h2c and gRPC) apitap decodes
// with tshark's, by connection, method and path.
func TestCorpusHTTP2(t *testing.T) {
	var total, found int
	for _, f := range corpus.Files(t) {
		truth := corpus.ReadTruth(t, f)
		n := 0
		for _, tr := range truth {
			if tr.Kind == "http2" {
				n++
			}
		}
		if n == 0 {
			continue
		}
		col, _ := runFile(t, f, 1)
		got := map[reqKey]int{}
		for _, ex := range col.exchanges {
			if ex.Protocol == exchange.ProtoH2C {
				got[reqKey{normAddr(ex.Client.String()), normAddr(ex.Server.String()), ex.Method,
					ex.Path}]++
			}
		}
		hit := 0
		for _, tr := range truth {
			if tr.Kind != "http2" {
				continue
			}
			k := reqKey{normAddr(tr.Src), normAddr(tr.Dst), tr.Method, truthPath(tr.URI)}
			if got[k] > 0 {
				got[k]--
				hit++
			}
		}
		t.Logf("%-66.66s tshark %3d  found %3d", filepath.Base(f), n, hit)
		total += n
		found += hit
	}
	t.Logf("HTTP/2 requests: %d of %d", found, total)
	if found < total*95/100 {
		t.Errorf("found %d of tshark's %d HTTP/2 requests; want ≥ 95%%", found, total)
	}
}

// TestCorpusSNIAndDNS runs every corpus capture through the whole core and
// checks that the flows carry every SNI tshark saw in a ClientHello (TLS
// over TCP and QUIC), and that the DNS answers name every question tshark
// saw answered.
func TestCorpusSNIAndDNS(t *testing.T) {
	var sniTotal, sniFound, dnsTotal, dnsFound int
	for _, f := range corpus.Files(t) {
		truth := corpus.ReadTruth(t, f)
		wantSNI := map[string]int{} // "client server sni"
		wantDNS := map[string]bool{}
		for _, tr := range truth {
			switch {
			case tr.Kind == "tls" || tr.Kind == "quic":
				wantSNI[normAddr(tr.Src)+" "+normAddr(tr.Dst)+" "+strings.ToLower(tr.SNI)]++
			case tr.Kind == "dns" && tr.Response && tr.Proto == "dns":
				wantDNS[strings.TrimSuffix(strings.ToLower(tr.QName), ".")] = true
			}
		}
		if len(wantSNI) == 0 && len(wantDNS) == 0 {
			continue
		}
		col, _ := runFile(t, f, 1)
		gotSNI := map[string]bool{}
		for _, fl := range col.flows {
			if fl.SNI != "" {
				gotSNI[normAddr(fl.Client.String())+" "+normAddr(fl.Server.String())+" "+fl.SNI] = true
			}
		}
		gotDNS := map[string]bool{}
		for _, d := range col.dns {
			gotDNS[d.Name] = true
		}
		var missing []string
		for k, n := range wantSNI {
			sniTotal += n
			if gotSNI[k] {
				sniFound += n
			} else if len(missing) < 3 {
				missing = append(missing, k)
			}
		}
		for name := range wantDNS {
			dnsTotal++
			if gotDNS[name] {
				dnsFound++
			} else if len(missing) < 6 {
				missing = append(missing, "dns "+name)
			}
		}
		if len(missing) > 0 {
			t.Logf("%s: missing %v", filepath.Base(f), missing)
		}
	}
	t.Logf("SNIs on flows: %d of %d; answered DNS names: %d of %d", sniFound, sniTotal, dnsFound,
		dnsTotal)
	if sniFound < sniTotal {
		t.Errorf("found %d of tshark's %d ClientHello SNIs on flows; want all", sniFound, sniTotal)
	}
	if dnsFound < dnsTotal {
		t.Errorf("found %d of tshark's %d answered DNS names; want all", dnsFound, dnsTotal)
	}
}

// TestShardedMatchesSingle runs every corpus capture with one worker and
// with two (flows sharded by hash, one reader handing batches over) and
// checks both find the same exchanges.
func TestShardedMatchesSingle(t *testing.T) {
	key := func(ex *exchange.Exchange) string {
		return fmt.Sprintf("%s %s %s %s %d", ex.Client, ex.Server, ex.Method, ex.Path, ex.Status)
	}
	for _, f := range corpus.Files(t) {
		one, _ := runFile(t, f, 1)
		two, _ := runFile(t, f, 2)
		count := map[string]int{}
		for i := range one.exchanges {
			count[key(&one.exchanges[i])]++
		}
		for i := range two.exchanges {
			count[key(&two.exchanges[i])]--
		}
		for k, n := range count {
			if n != 0 {
				t.Errorf("%s: exchange %q seen %+d more times with one worker than with two",
					filepath.Base(f), k, n)
			}
		}
		if len(one.flows) != len(two.flows) {
			t.Errorf("%s: %d flows with one worker, %d with two", filepath.Base(f), len(one.flows),
				len(two.flows))
		}
	}
}
