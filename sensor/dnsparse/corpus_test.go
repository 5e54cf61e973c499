package dnsparse

import (
	"errors"
	"flag"
	"fmt"
	"github.com/apitap/apitap/sensor/internal/corpus"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz seed corpora from the pcap corpus")

func dnsPort(p *corpus.Packet) bool {
	for _, port := range []uint16{p.Src.Port(), p.Dst.Port()} {
		if port == 53 || port == 5353 || port == 5355 {
			return true
		}
	}
	return false
}

// TestCorpus decodes every DNS, mDNS and LLMNR message of the captures that
// tshark found DNS in, over UDP and TCP, and requires every question name
// tshark lists on the frame it lists it.
func TestCorpus(t *testing.T) {
	corpusPath := corpus.Dir(t)
	truth := corpus.TruthByKind(t, corpusPath, "dns")
	files := make([]string, 0, len(truth))
	for name := range truth {
		files = append(files, name)
	}
	sort.Strings(files)

	var seeds [][]byte
	var totWant, totFound int
	t.Logf("%-52s %6s %6s %6s %6s %6s", "file", "qnames", "found", "miss", "msgs", "errors")
	for _, name := range files {
		type key struct {
			frame int
			qname string
		}
		var (
			m       Message
			got     = make(map[key]int)
			msgs    int
			errs    int
			streams = make(map[[2]string]*corpus.Stream)
			used    = make(map[[2]string]int) // bytes of the stream already split
		)
		handle := func(frame int, b []byte) {
			if err := Parse(b, &m); err != nil {
				errs++
				return
			}
			msgs++
			if len(seeds) < 24 && (len(seeds) == 0 || m.Response() || len(seeds)%4 == 0) {
				seeds = append(seeds, append([]byte(nil), b...))
			}
			for _, q := range m.Questions {
				n := string(q.Name)
				if n == "" {
					n = "<root>"
				}
				got[key{frame, n}]++
			}
		}
		corpus.ReadPcap(t, filepath.Join(corpusPath, name), func(p *corpus.Packet) {
			if !dnsPort(p) {
				return
			}
			if p.UDP {
				handle(p.Frame, p.Payload)
				return
			}
			k := [2]string{p.Src.String(), p.Dst.String()}
			s := streams[k]
			if s == nil {
				s = &corpus.Stream{}
				streams[k] = s
			}
			buf := s.Add(p)
			for rest := buf[min(used[k], len(buf)):]; ; {
				msg, next, err := SplitTCP(rest)
				if errors.Is(err, ErrShort) {
					break
				}
				used[k] += 2 + len(msg)
				handle(p.Frame, msg)
				rest = next
			}
		})
		var miss int
		for _, l := range truth[name] {
			k := key{l.Frame, strings.ToLower(l.QName)}
			if got[k] > 0 {
				got[k]--
				continue
			}
			miss++
			t.Errorf("%s frame %d: %s %s question %q not found", name, l.Frame, l.Proto, l.Transport, l.QName)
		}
		n := len(truth[name])
		t.Logf("%-52s %6d %6d %6d %6d %6d", name, n, n-miss, miss, msgs, errs)
		totWant += n
		totFound += n - miss
	}
	t.Logf("total: %d/%d question names found", totFound, totWant)
	if *writeSeeds {
		dir := filepath.Join("testdata", "fuzz", "FuzzDNS")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, in := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("corpus-%02d", i)), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
