package httpparse

import (
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current parser")

// goldenConfig decodes bodies and keeps small prefixes so truncation shows.
var goldenConfig = &Config{DecodeBodies: true, MaxBodyPrefix: 4096}

func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.http")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob testdata/*.http: %v (%d files)", err, len(files))
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".http")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got := run(goldenConfig, parseScript(t, in), nil)
			gf := strings.TrimSuffix(f, ".http") + ".golden"
			if *update {
				if err := os.WriteFile(gf, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(gf)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if got != string(want) {
				t.Errorf("parse of %s:\ngot:\n%s\nwant:\n%s", f, got, want)
			}
		})
	}
}

// TestSplitInvariance feeds every testdata input whole, one byte at a
// time, and in random chunk sizes: the transcript must not change.
func TestSplitInvariance(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.http")
	rng := rand.New(rand.NewSource(1))
	splits := map[string]func(n int) []int{
		"bytewise": func(n int) []int {
			s := make([]int, n)
			for i := range s {
				s[i] = 1
			}
			return s
		},
		"random": func(n int) []int {
			var s []int
			for n > 0 {
				k := 1 + rng.Intn(min(n, 40))
				s = append(s, k)
				n -= k
			}
			return s
		},
		"halves": func(n int) []int {
			if n < 2 {
				return []int{n}
			}
			return []int{n / 2, n - n/2}
		},
	}
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		steps := parseScript(t, in)
		want := run(goldenConfig, steps, nil)
		for name, split := range splits {
			t.Run(filepath.Base(f)+"/"+name, func(t *testing.T) {
				for i := 0; i < 3; i++ {
					if got := run(goldenConfig, steps, split); got != want {
						t.Fatalf("split %s changed the parse:\ngot:\n%s\nwant:\n%s", name, got, want)
					}
					if name != "random" {
						break
					}
				}
			})
		}
	}
}

// TestResetReuse parses every input twice on one Conn, with Reset between:
// a pooled Conn must not carry state (HPACK tables, pending requests,
// buffers) from one connection to the next.
func TestResetReuse(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.http")
	rec := &recorder{}
	c := NewConn(goldenConfig, rec)
	for _, f := range files {
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		steps := parseScript(t, in)
		want := run(goldenConfig, steps, nil)
		for i := 0; i < 2; i++ {
			rec.b.Reset()
			c.Reset(rec)
			replaySteps(c, steps)
			if got := transcript(rec, c); got != want {
				t.Fatalf("%s, pass %d on a reused Conn:\ngot:\n%s\nwant:\n%s", f, i, got, want)
			}
		}
	}
}
