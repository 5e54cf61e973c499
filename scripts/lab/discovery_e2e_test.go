//go:build e2e

package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/capture"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/spec"
)

// discoveryNginx serves the lab API: one regex location per endpoint, each
// returning a small JSON body.
const discoveryNginx = `
location = /api/v1/health { return 200 '{"status":"ok"}'; }
location = /api/v1/users/me { return 200 '{"id":1,"name":"me","email":"x"}'; }
location ~ ^/api/v1/users/[0-9]+$ { return 200 '{"id":7,"name":"n","tags":["a"]}'; }
location ~ ^/api/v1/users/[0-9]+/orders$ { return 200 '[{"id":"o","total":12.5}]'; }
location = /api/v1/orders {
	if ($request_method = POST) { return 201 '{"id":"9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b"}'; }
	return 405;
}
location ~ "^/api/v1/orders/[0-9a-f-]{36}$" {
	if ($request_method = DELETE) { return 204; }
	return 200 '{"id":"x","lines":[{"sku":"a","qty":1}]}';
}
location ~ "^/api/v1/products/[0-9a-f]{24}$" { return 200 '{"id":"p","price":3}'; }
location ~ ^/api/v1/articles/[a-z0-9-]+$ { return 200 '{"title":"t","body":"b"}'; }
location ~ "^/api/v1/events/[0-9]{4}-[0-9]{2}-[0-9]{2}$" { return 200 '[{"at":"t"}]'; }
location ~ ^/api/v1/profiles/[a-z]+$ { return 200 '{"bio":"b"}'; }
location ~ ^/api/v1/tokens/[A-Za-z0-9_]+/verify$ { return 200 '{"valid":true}'; }
location ~ ^/api/v1/categories/[0-9]+/products$ { return 200 '[{"id":1}]'; }
location ~ ^/api/v1/legacy/reports/[0-9]+$ { return 200 '{"report":1}'; }
location ~ ^/api/v1/members/[a-z]+/profile$ { return 200 '{"member":"m"}'; }
location ~ ^/internal/debug/sessions/[A-Za-z0-9_]+$ { return 200 '{"debug":true}'; }
location / { return 404 '{"error":"not found"}'; }
`

// truth is every endpoint the client calls, as method and template.
var truth = map[string]bool{
	"GET /api/v1/health":                           true,
	"GET /api/v1/users/me":                         true,
	"GET /api/v1/users/{userId}":                   true,
	"GET /api/v1/users/{userId}/orders":            true,
	"POST /api/v1/orders":                          true,
	"GET /api/v1/orders/{orderId}":                 true,
	"DELETE /api/v1/orders/{orderId}":              true,
	"GET /api/v1/products/{productId}":             true,
	"GET /api/v1/articles/{slug}":                  true,
	"GET /api/v1/events/{day}":                     true,
	"GET /api/v1/profiles/{username}":              true,
	"GET /api/v1/tokens/{token}/verify":            true,
	"GET /api/v1/categories/{categoryId}/products": true,
	"GET /api/v1/legacy/reports/{reportId}":        true,
	// Undocumented: the templater must find these on its own.
	"GET /api/v1/members/{member}/profile":     true,
	"GET /internal/debug/sessions/{sessionId}": true,
}

var (
	wantShadow = []string{"GET /api/v1/members/{member}/profile",
		"GET /internal/debug/sessions/{sessionId}"}
	wantZombie = []string{"GET /api/v1/legacy/reports/{reportId}"}
)

// requests builds the client's calls from a seeded generator: the same
// paths every run.
func requests(rng *rand.Rand) []struct{ method, path, body string } {
	hex := func(n int) string {
		const digits = "0123456789abcdef"
		b := make([]byte, n)
		for i := range b {
			b[i] = digits[rng.IntN(16)]
		}
		return string(b)
	}
	alnum := func(n int) string {
		const chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		b := make([]byte, n)
		for i := range b {
			b[i] = chars[rng.IntN(len(chars))]
		}
		return string(b)
	}
	uuid := func() string {
		h := hex(32)
		return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
	}
	words := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
		"hotel", "india", "juliet", "kilo", "lima"}
	var out []struct{ method, path, body string }
	add := func(m, p, b string) { out = append(out, struct{ method, path, body string }{m, p, b}) }
	for range 4 {
		add("GET", "/api/v1/health", "")
		add("GET", "/api/v1/users/me", "")
		add("POST", "/api/v1/orders", `{"items":[{"sku":"a","qty":1}],"note":"n"}`)
		add("GET", "/api/v1/legacy/reports/"+fmt.Sprint(1+rng.IntN(500)), "")
	}
	for range 6 {
		add("GET", "/api/v1/users/"+fmt.Sprint(1+rng.IntN(100000)), "")
		add("GET", "/api/v1/users/"+fmt.Sprint(1+rng.IntN(100000))+"/orders", "")
		id := uuid()
		add("GET", "/api/v1/orders/"+id, "")
		add("DELETE", "/api/v1/orders/"+id, "")
		add("GET", "/api/v1/products/"+hex(24), "")
		add("GET", "/api/v1/articles/"+words[rng.IntN(len(words))]+"-"+
			words[rng.IntN(len(words))]+"-post", "")
		add("GET", fmt.Sprintf("/api/v1/events/2025-%02d-%02d", 1+rng.IntN(12), 1+rng.IntN(28)), "")
		add("GET", "/api/v1/profiles/"+words[rng.IntN(len(words))], "")
		add("GET", "/api/v1/tokens/tok_"+alnum(24)+"/verify", "")
		add("GET", "/api/v1/categories/"+fmt.Sprint(1+rng.IntN(40))+"/products", "")
		add("GET", "/internal/debug/sessions/sess_"+alnum(24), "")
	}
	// Usernames under an undocumented path: only cardinality can template
	// these. Ten distinct names, past the collapse threshold of 8.
	for _, w := range words[:10] {
		add("GET", "/api/v1/members/"+w+"/profile", "")
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestDiscovery(t *testing.T) {
	l := New(t)
	Require(t, "nginx", "tcpdump")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	link := l.Link(srv, cli)
	ng := srv.Nginx(t, netip.AddrPortFrom(link.A, 8080), discoveryNginx)
	pcap := filepath.Join(t.TempDir(), "cap.pcap")
	capture := srv.Tcpdump(t, link.IfA, pcap, "tcp", "port", "8080")

	hc := &http.Client{Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: cli.DialContext, MaxIdleConnsPerHost: 4}}
	reqs := requests(rand.New(rand.NewPCG(203, 1)))
	for _, r := range reqs {
		var body *strings.Reader
		if r.body != "" {
			body = strings.NewReader(r.body)
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(r.method, "http://"+ng.Addr.String()+r.path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "api.lab.test:8080"
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", r.method, r.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 400 {
			t.Fatalf("%s %s: status %d; the lab API must serve every call", r.method, r.path,
				resp.StatusCode)
		}
	}
	hc.CloseIdleConnections()
	if err := capture.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d requests, tcpdump stats %v", len(reqs), fmt.Sprint(capture.Stats()))

	specPath, err := filepath.Abs("testdata/discovery-spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	eps, export := discover(t, pcap, specPath)
	check(t, eps, len(reqs))

	// The export, loaded back as the only spec, documents all that was seen.
	exportPath := filepath.Join(t.TempDir(), "export.yaml")
	if err := os.WriteFile(exportPath, export, 0o644); err != nil {
		t.Fatal(err)
	}
	again, _ := discover(t, pcap, exportPath)
	for _, e := range again {
		if e.SpecStatus == inventory.StatusShadow {
			t.Errorf("export round trip: %s %s is shadow; want none", e.Method, e.Template)
		}
	}
}

// discover runs the capture through the CLI when it supports --spec and
// --export, else through the same packages in process (engine, spec,
// inventory). It returns the endpoints and the OpenAPI export.
func discover(t *testing.T, pcap, specPath string) ([]inventory.Endpoint, []byte) {
	t.Helper()
	if bin := apitapWithSpec(t); bin != "" {
		t.Logf("discovering through %s read --spec %s", bin, filepath.Base(specPath))
		exportPath := filepath.Join(t.TempDir(), "export.yaml")
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "read", "-r", pcap, "--spec", specPath,
			"--format", "json", "--no-progress", "--export", exportPath)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("apitap read: %v\n%s", err, stderr.String())
		}
		var rep struct {
			Endpoints []inventory.Endpoint `json:"endpoints"`
		}
		if !bytes.Contains(out, []byte(`"spec_status"`)) {
			t.Fatalf("apitap read --format json: no spec_status in the report")
		}
		if err := json.Unmarshal(out, &rep); err != nil {
			t.Fatalf("apitap read output: %v", err)
		}
		export, err := os.ReadFile(exportPath)
		if err != nil {
			t.Fatalf("apitap read --export: %v", err)
		}
		return rep.Endpoints, export
	}

	t.Log("discovering in process (engine, spec, inventory): " +
		"no apitap read --spec/--export, or APITAP_E2E_INPROCESS set")
	set, err := spec.Load(specPath)
	if err != nil {
		t.Fatal(err)
	}
	src, err := capture.OpenFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	em := &invEmitter{inv: inventory.New(inventory.Config{}, set)}
	sum := engine.Run(src, &engine.Config{}, 1, em, nil)
	if sum.ReadError != nil {
		t.Fatalf("read %s: %v", pcap, sum.ReadError)
	}
	var buf bytes.Buffer
	if err := em.inv.ExportOpenAPI(&buf); err != nil {
		t.Fatal(err)
	}
	return em.inv.Endpoints(), buf.Bytes()
}

// invEmitter feeds an inventory from the engine.
type invEmitter struct {
	mu  sync.Mutex
	inv *inventory.Inventory
}

func (e *invEmitter) Exchange(ex *exchange.Exchange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inv.Add(ex)
}
func (e *invEmitter) Flow(*exchange.Flow) {}
func (e *invEmitter) DNS(*exchange.DNS)   {}

var (
	apitapOnce sync.Once
	apitapBin  string
)

// apitapWithSpec builds ./cmd/apitap once (into the first caller's temp
// dir) and returns its path if `read` accepts --spec and --export, else "".
// APITAP_E2E_INPROCESS=1 forces the in-process path.
func apitapWithSpec(t *testing.T) string {
	apitapOnce.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			return
		}
		if os.Getenv("APITAP_E2E_INPROCESS") != "" {
			return // exercise the in-process path
		}
		bin := filepath.Join(t.TempDir(), "apitap")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/apitap")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Logf("build apitap: %v\n%s", err, out)
			return
		}
		help, _ := exec.CommandContext(ctx, bin, "read", "-h").CombinedOutput()
		if bytes.Contains(help, []byte("-spec")) && bytes.Contains(help, []byte("-export")) {
			apitapBin = bin
		}
	})
	return apitapBin
}

// check asserts template precision and recall, shadows, zombies, and that
// no documented endpoint is reported as shadow.
func check(t *testing.T, eps []inventory.Endpoint, nreq int) {
	t.Helper()
	got := map[string]inventory.Endpoint{}
	var total int64
	for _, e := range eps {
		if e.SpecStatus == inventory.StatusOrphan {
			t.Errorf("orphan %s %s: every documented endpoint was called", e.Method, e.Template)
			continue
		}
		got[e.Method+" "+e.Template] = e
		total += e.Requests
	}
	hit := 0
	for k := range got {
		if truth[k] {
			hit++
		} else {
			t.Errorf("reported %s, which is not an endpoint of the lab API", k)
		}
	}
	for k := range truth {
		if _, ok := got[k]; !ok {
			t.Errorf("missed %s", k)
		}
	}
	precision := float64(hit) / float64(max(len(got), 1))
	recall := float64(hit) / float64(len(truth))
	t.Logf("templates: precision %.3f recall %.3f (%d reported, %d true, %d requests seen of %d)",
		precision, recall, len(got), len(truth), total, nreq)
	if precision < 0.95 || recall < 0.95 {
		t.Errorf("precision %.3f, recall %.3f; want both ≥ 0.95", precision, recall)
	}
	if total != int64(nreq) {
		t.Errorf("requests counted = %d; want %d", total, nreq)
	}
	for _, k := range wantShadow {
		if got[k].SpecStatus != inventory.StatusShadow {
			t.Errorf("%s: spec_status %q; want shadow", k, got[k].SpecStatus)
		}
	}
	for _, k := range wantZombie {
		if got[k].SpecStatus != inventory.StatusZombie {
			t.Errorf("%s: spec_status %q; want zombie", k, got[k].SpecStatus)
		}
	}
	for k, e := range got {
		if e.SpecStatus == inventory.StatusShadow && !contains(wantShadow, k) {
			t.Errorf("%s reported as shadow; it is documented", k)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
