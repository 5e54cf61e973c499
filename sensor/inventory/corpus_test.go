package inventory

import (
	"bufio"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/template"
)

// corpusDir finds ../shared/corpus from the module root.
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
			t.Skip("corpus: no go.mod above the package directory")
		}
		dir = parent
	}
	c := filepath.Join(dir, "..", "shared", "corpus", "truth")
	if _, err := os.Stat(c); err != nil {
		t.Skipf("corpus: %s is absent, skipping", c)
	}
	return c
}

// TestCorpusTemplating feeds every HTTP request tshark decoded in the public
// corpus through the inventory (as exchanges built from the truth lines) and
// checks that counts add up, that templating reduces the distinct paths and
// that no example path keeps an email.
func TestCorpusTemplating(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	inv := New(Config{}, nil)
	paths := map[string]bool{}
	var n int64
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var rec struct {
				Kind, Method, URI, Dst, Src string
				Host                        *string
				Status                      *int
			}
			if json.Unmarshal(sc.Bytes(), &rec) != nil || (rec.Kind != "http" && rec.Kind != "http2") {
				continue
			}
			path, _, _ := strings.Cut(rec.URI, "?")
			if !strings.HasPrefix(path, "/") {
				continue // absolute-form or *
			}
			dst, err1 := netip.ParseAddrPort(rec.Dst)
			src, err2 := netip.ParseAddrPort(rec.Src)
			if err1 != nil || err2 != nil {
				continue
			}
			ex := &exchange.Exchange{Start: time.Unix(0, 0), End: time.Unix(0, 0),
				Client: src, Server: dst, Method: rec.Method, Path: path}
			if rec.Host != nil {
				ex.Host = strings.ToLower(*rec.Host)
				if h, _, ok := strings.Cut(ex.Host, ":"); ok && !strings.HasPrefix(ex.Host, "[") {
					ex.Host = h
				}
			}
			if rec.Status != nil {
				ex.Status = *rec.Status
			}
			inv.Add(ex)
			paths[dst.String()+" "+ex.Host+" "+rec.Method+" "+path] = true
			n++
		}
		fh.Close()
	}
	if n == 0 {
		t.Skip("corpus: no HTTP requests in the truth files")
	}
	eps := inv.Endpoints()
	var total int64
	for _, e := range eps {
		total += e.Requests
		for _, seg := range template.Segments(e.Path) {
			if k := template.Classify(seg, false); k.Sensitive() {
				t.Errorf("example path %q keeps a %s value", e.Path, k)
			}
		}
		if testing.Verbose() && strings.Contains(e.Template, "{") && len(e.Params) > 0 {
			t.Logf("%s %s (%d requests)", e.Method, e.Template, e.Requests)
		}
	}
	if total != n {
		t.Errorf("requests counted = %d; want %d", total, n)
	}
	t.Logf("corpus: %d requests, %d distinct method+paths, %d endpoints (%.1f%% of paths)",
		n, len(paths), len(eps), 100*float64(len(eps))/float64(len(paths)))
	if len(eps) >= len(paths) {
		t.Errorf("templating did not reduce %d paths (%d endpoints)", len(paths), len(eps))
	}
}
