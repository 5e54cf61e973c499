// Package corpus finds the shared capture corpus that tests compare against:
// public captures beside the repository in ../shared/corpus, each with the
// requests tshark decoded in truth/<file>.jsonl.
package corpus

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Locate returns ../shared/corpus beside the module root (the directory
// holding go.mod, found from the working directory up), and whether it
// exists. It needs no testing.TB, so fuzz seed lists can use it too.
func Locate() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "corpus")
			_, err := os.Stat(c)
			return c, err == nil
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// Dir returns the corpus directory, or skips the test when it is absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	c, ok := Locate()
	if !ok {
		tb.Skipf("corpus not found at %q (../shared/corpus beside the repository): the tests "+
			"that compare with tshark need it", c)
	}
	return c
}

// Files lists the capture files of the corpus, sorted.
func Files(tb testing.TB) []string {
	dir := Dir(tb)
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") {
			out = append(out, filepath.Join(dir, n))
		}
	}
	sort.Strings(out)
	return out
}

// Truth is one line of a truth file. Only the fields the tests use are
// decoded; see the corpus's SOURCES.md for the whole schema.
type Truth struct {
	Kind    string  `json:"kind"`
	Frame   int     `json:"frame"`
	Time    string  `json:"time"`
	Src     string  `json:"src"`
	Dst     string  `json:"dst"`
	Method  string  `json:"method"`
	Host    *string `json:"host"`
	URI     string  `json:"uri"`
	Version string  `json:"version"`
	Status  *int    `json:"status"`
	// UpgradedH2Status is the HTTP/2 response on stream 1 to a request that
	// upgraded its connection to h2c (Status is then 101).
	UpgradedH2Status *int     `json:"upgraded_h2_status"`
	TCPStream        *int     `json:"tcp_stream"`
	StreamID         *int     `json:"stream_id"`
	SNI              string   `json:"sni"`
	QName            string   `json:"qname"`
	Response         bool     `json:"response"`
	Transport        string   `json:"transport"`
	Proto            string   `json:"proto"`
	AnswersA         []string `json:"answers_a"`
}

// ReadTruth reads the truth file of a capture.
func ReadTruth(tb testing.TB, capture string) []Truth {
	tb.Helper()
	p := filepath.Join(filepath.Dir(capture), "truth", filepath.Base(capture)+".jsonl")
	f, err := os.Open(p)
	if err != nil {
		tb.Fatalf("open truth: %v", err)
	}
	defer f.Close()
	var out []Truth
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var t Truth
		if err := json.Unmarshal(sc.Bytes(), &t); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
