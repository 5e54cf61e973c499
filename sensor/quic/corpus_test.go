package quic

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/apitap/apitap/sensor/internal/corpus"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var writeSeeds = flag.Bool("seeds", false, "rewrite testdata/fuzz seed corpora from the pcap corpus")

// TestCorpus feeds every UDP datagram of the captures where tshark decrypted
// QUIC Initials to one Assembler, and requires each SNI tshark lists, on the
// same frame, with the JA4 computed from tshark's dissection
// (../tlsparse/testdata/ja4_tshark.jsonl).
func TestCorpus(t *testing.T) {
	corpusPath := corpus.Dir(t)
	truth := corpus.TruthByKind(t, corpusPath, "quic")
	if len(truth) == 0 {
		t.Fatal("no quic lines in the corpus truth")
	}
	refs := make(map[string]string) // file#frame -> ja4
	f, err := os.Open(filepath.Join("..", "tlsparse", "testdata", "ja4_tshark.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct {
			File  string `json:"file"`
			Frame int    `json:"frame"`
			JA4   string `json:"ja4"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		refs[fmt.Sprintf("%s#%d", r.File, r.Frame)] = r.JA4
	}

	var seeds [][]byte
	for name, lines := range truth {
		a := NewAssembler(Config{})
		var r Result
		got := make(map[int]string)
		corpus.ReadPcap(t, filepath.Join(corpusPath, name), func(p *corpus.Packet) {
			if !p.UDP {
				return
			}
			done, _ := a.Feed(p.Payload, time.Unix(int64(p.Frame), 0), &r)
			if !done {
				return
			}
			got[p.Frame] = string(r.Hello.ServerName)
			if len(seeds) < 8 {
				seeds = append(seeds, p.Payload)
			}
			want, ok := refs[fmt.Sprintf("%s#%d", name, p.Frame)]
			if ja4 := r.JA4(); !ok || ja4 != want {
				t.Errorf("%s frame %d (%s): JA4 = %s; want %s", name, p.Frame,
					r.Hello.ServerName, ja4, want)
			}
		})
		var found int
		for _, l := range lines {
			if got[l.Frame] == l.SNI {
				found++
			} else {
				t.Errorf("%s frame %d: SNI %q not found (got %q)", name, l.Frame, l.SNI, got[l.Frame])
			}
		}
		s := a.Stats()
		t.Logf("%s: %d/%d SNIs; %d hellos, %d initials decrypted, %d failed auth (server "+
			"Initials), %d non-initial datagrams", name, found, len(lines), s.Hellos, s.Packets,
			s.Decrypt, s.NotQUIC)
	}
	if *writeSeeds {
		dir := filepath.Join("testdata", "fuzz", "FuzzQUICInitial")
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
