package tlsparse

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/apitap/apitap/sensor/internal/corpus"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz seed corpora from the pcap corpus")

// ja4Ref is one line of testdata/ja4_tshark.jsonl (see ja4_tshark.py).
type ja4Ref struct {
	File      string `json:"file"`
	Frame     int    `json:"frame"`
	Transport string `json:"transport"`
	SNI       string `json:"sni"`
	JA4       string `json:"ja4"`
}

func readJA4Ref(t *testing.T) map[string]map[int]ja4Ref {
	f, err := os.Open(filepath.Join("testdata", "ja4_tshark.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string]map[int]ja4Ref)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r ja4Ref
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if out[r.File] == nil {
			out[r.File] = make(map[int]ja4Ref)
		}
		out[r.File][r.Frame] = r
	}
	return out
}

// TestCorpus parses the client side of every TCP flow of every capture that
// tshark found ClientHellos in. It requires every SNI tshark lists, and a
// JA4 equal to the one computed from tshark's dissection for every hello.
func TestCorpus(t *testing.T) {
	corpusPath := corpus.Dir(t)
	truth := corpus.TruthByKind(t, corpusPath, "tls")
	refs := readJA4Ref(t)
	files := make([]string, 0, len(truth))
	for name := range truth {
		files = append(files, name)
	}
	sort.Strings(files)

	var seedsCH, seedsSH [][]byte
	t.Logf("%-52s %5s %5s %5s %5s %5s %5s", "file", "sni", "found", "miss", "hello", "ja4ok", "shello")
	var totTruth, totFound, totJA4, totJA4OK int
	for _, name := range files {
		type found struct {
			frame int
			sni   string
		}
		var (
			hellos   []found
			ja4OK    int
			ja4Total int
			servers  int
			streams  = make(map[[2]string]*corpus.Stream)
			ch       ClientHello
			sh       ServerHello
		)
		corpus.ReadPcap(t, filepath.Join(corpusPath, name), func(p *corpus.Packet) {
			if p.UDP {
				return
			}
			key := [2]string{p.Src.String(), p.Dst.String()}
			s := streams[key]
			if s == nil {
				s = &corpus.Stream{}
				streams[key] = s
			}
			if s.Done {
				return
			}
			buf := s.Add(p)
			if len(buf) == 0 {
				return
			}
			err := ParseClientHello(buf, &ch)
			if errors.Is(err, ErrNotClientHello) {
				if ParseServerHello(buf, &sh) == nil {
					servers++
					s.Done = true
					if len(seedsSH) < 8 {
						seedsSH = append(seedsSH, buf[:min(len(buf), 5+sh.Len)])
					}
				}
				return
			}
			if errors.Is(err, ErrShort) && len(buf) < corpus.StreamLimit {
				return
			}
			s.Done = true
			if err != nil {
				return
			}
			hellos = append(hellos, found{p.Frame, string(ch.ServerName)})
			if len(seedsCH) < 16 {
				seedsCH = append(seedsCH, buf)
			}
			if ref, ok := refs[name][p.Frame]; ok {
				ja4Total++
				if got := JA4(&ch, 't'); got == ref.JA4 {
					ja4OK++
				} else {
					t.Errorf("%s frame %d (%s): JA4 = %s; want %s\nraw %s", name, p.Frame,
						ref.SNI, got, ref.JA4, AppendJA4Raw(nil, &ch, 't'))
				}
			} else {
				t.Errorf("%s frame %d: ClientHello %q that tshark did not dissect", name,
					p.Frame, ch.ServerName)
			}
		})

		// Every SNI tshark lists must be found on the same frame.
		got := make(map[found]int)
		for _, h := range hellos {
			got[h]++
		}
		var miss int
		for _, l := range truth[name] {
			k := found{l.Frame, l.SNI}
			if got[k] > 0 {
				got[k]--
				continue
			}
			miss++
			t.Errorf("%s frame %d: SNI %q not found", name, l.Frame, l.SNI)
		}
		n := len(truth[name])
		t.Logf("%-52s %5d %5d %5d %5d %5d %5d", name, n, n-miss, miss, len(hellos), ja4OK, servers)
		totTruth += n
		totFound += n - miss
		totJA4 += ja4Total
		totJA4OK += ja4OK
	}
	t.Logf("total: %d/%d SNIs found, %d/%d JA4 equal to the tshark-derived reference",
		totFound, totTruth, totJA4OK, totJA4)
	if totJA4 == 0 {
		t.Error("no ClientHello matched the JA4 reference")
	}
	if *writeSeeds {
		writeSeedCorpus(t, "FuzzClientHello", seedsCH)
		writeSeedCorpus(t, "FuzzServerHello", seedsSH)
	}
}

// writeSeedCorpus stores inputs in the go test fuzz corpus format.
func writeSeedCorpus(t *testing.T, fuzz string, inputs [][]byte) {
	dir := filepath.Join("testdata", "fuzz", fuzz)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, in := range inputs {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", in)
		name := filepath.Join(dir, fmt.Sprintf("corpus-%02d", i))
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
