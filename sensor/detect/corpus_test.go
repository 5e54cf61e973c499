package detect

import (
	"bufio"
	"encoding/json"
	"github.com/apitap/apitap/sensor/internal/corpus"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/secret"
)

// TestCorpusURIs scans every request target and User-Agent in the tshark
// truth of the public capture corpus. Real traffic is unlabelled, so this
// only reports what fired per class (see -v) and checks the match
// invariants; the labelled test measures precision.
func TestCorpusURIs(t *testing.T) {
	dir := corpus.Dir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "truth", "*.jsonl"))
	if len(files) == 0 {
		t.Skip("corpus has no truth/*.jsonl files")
	}
	sc := NewScanner(secret.Key{})
	counts := map[string]int{}
	examples := map[string][]string{}
	uris := 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(fh)
		s.Buffer(make([]byte, 1<<20), 1<<20)
		for s.Scan() {
			var rec struct {
				Kind      string `json:"kind"`
				URI       string `json:"uri"`
				UserAgent string `json:"user_agent"`
			}
			if json.Unmarshal(s.Bytes(), &rec) != nil || (rec.Kind != "http" && rec.Kind != "http2") {
				continue
			}
			uris++
			path, query, _ := strings.Cut(rec.URI, "?")
			fn := func(m *Match) {
				counts[m.Class]++
				if len(examples[m.Class]) < 3 {
					examples[m.Class] = append(examples[m.Class], m.Position.String()+" "+m.Key+" "+m.Preview)
				}
			}
			sc.ScanPath(DirRequest, path, func(m *Match) { checkMatch(t, m, len(path)); fn(m) })
			sc.ScanQuery(DirRequest, query, func(m *Match) { checkMatch(t, m, len(query)); fn(m) })
			sc.ScanHeader(DirRequest, "user-agent-value", rec.UserAgent, fn)
		}
		fh.Close()
	}
	var classes []string
	for c := range counts {
		classes = append(classes, c)
	}
	sort.Strings(classes)
	t.Logf("%d request targets from %d truth files", uris, len(files))
	for _, c := range classes {
		t.Logf("%-18s %5d  e.g. %v", c, counts[c], examples[c])
	}
}
