//go:build e2e

package lab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

// window is the length of the substrings of a credential that are searched:
// a credential must not appear even in part. Non-credential previews show at
// most 4 characters and credential previews only a published prefix, so an
// 8-byte run of a secret in the output is a leak, not a preview.
const window = 8

// publicPrefixes are published key-type prefixes that previews may show
// (sensor/secret keeps the full list). A window that lies inside one of them
// carries no secret and is not searched.
var publicPrefixes = []string{"sk-proj-", "sk-ant-api03-", "github_pat_"}

// needle is one value that must not appear in apitap's output.
type needle struct {
	label   string // where the value came from; safe to print, unlike value
	value   string
	windows bool // search every window-byte substring too (credentials)
}

// hit is one needle found in one output.
type hit struct {
	label, output string
	offset        int
	context       string // the bytes around it, with the match blanked
}

// outputs runs apitap on pcap with every output on (the JSON report, the
// exchange log, the state file, the OpenAPI export, and stderr), then again
// with the table report, and returns each output by name. The zstd state file
// is searched both as written and decompressed.
func outputs(t *testing.T, bin, pcap string) map[string][]byte {
	t.Helper()
	dir := t.TempDir()
	exch := filepath.Join(dir, "exchanges.jsonl")
	state := filepath.Join(dir, "state.zst")
	export := filepath.Join(dir, "export.yaml")
	out := map[string][]byte{}

	r := runApitap(t, bin, "read", "-r", pcap, "--format", "json", "--exchanges", exch,
		"--state", state, "--export", export)
	// A damaged capture still gets its report and a non-zero status; the
	// outputs are searched either way.
	if r.err != nil {
		t.Logf("apitap read %s: %v: %s", filepath.Base(pcap), r.err,
			bytes.TrimSpace(r.stderr))
	}
	out["json"], out["stderr(json)"] = r.stdout, r.stderr
	for name, path := range map[string]string{"exchanges": exch, "state": state,
		"export": export} {
		b, err := os.ReadFile(path)
		if err != nil {
			if r.err == nil {
				t.Errorf("apitap read wrote no %s: %v", name, err)
			}
			continue
		}
		out[name] = b
	}
	if st := out["state"]; len(st) > 0 {
		dec, err := zstd.NewReader(nil)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := dec.DecodeAll(st, nil)
		dec.Close()
		if err != nil {
			t.Errorf("state file is not zstd: %v", err)
		} else {
			out["state(decoded)"] = plain
		}
	}

	r = runApitap(t, bin, "read", "-r", pcap)
	out["table"], out["stderr(table)"] = r.stdout, r.stderr
	return out
}

// search returns every place a needle, or a window of a credential needle,
// appears in the outputs. Windows are looked up in a map while sliding over
// each output once, so thousands of needles cost one pass.
func search(outs map[string][]byte, needles []needle) []hit {
	idx := map[string][]int{}
	var whole []int
	for i, n := range needles {
		if !n.windows || len(n.value) < window {
			whole = append(whole, i)
			continue
		}
		for j := 0; j+window <= len(n.value); j++ {
			w := n.value[j : j+window]
			if isPublic(w) || !hasLetter(w) {
				continue
			}
			if l := idx[w]; len(l) == 0 || l[len(l)-1] != i {
				idx[w] = append(l, i)
			}
		}
	}

	var hits []hit
	seen := map[[2]string]bool{} // (label, output): one hit each is enough
	add := func(i int, name string, b []byte, off, n int) {
		k := [2]string{needles[i].label, name}
		if seen[k] {
			return
		}
		seen[k] = true
		lo, hi := max(0, off-40), min(len(b), off+n+40)
		ctx := string(b[lo:off]) + "<" + fmt.Sprint(n) + " bytes>" + string(b[off+n:hi])
		hits = append(hits, hit{label: needles[i].label, output: name, offset: off,
			context: ctx})
	}
	for _, name := range slices.Sorted(maps.Keys(outs)) {
		b := outs[name]
		for off := 0; off+window <= len(b); off++ {
			for _, i := range idx[string(b[off:off+window])] {
				add(i, name, b, off, window)
			}
		}
		for _, i := range whole {
			if off := bytes.Index(b, []byte(needles[i].value)); off >= 0 {
				add(i, name, b, off, len(needles[i].value))
			}
		}
	}
	return hits
}

// hasLetter reports whether w holds an ASCII letter. Windows without one
// (digits, dots, dashes: "2022-11-", "19090828") are not searched: apitap
// writes timestamps, counts, sizes and addresses, which such runs match by
// chance. The whole value is still searched.
func hasLetter(w string) bool {
	return strings.IndexFunc(w, func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}) >= 0
}

// distinctive reports whether v is worth searching as a whole. Values of
// window bytes and more always are. Shorter ones only when they mix letters
// and digits ("fail2"): short words ("null", "play", "true") and short
// numbers occur in any report by chance, in field names, host names and
// counts, and a hit would say nothing.
func distinctive(v string) bool {
	if len(v) >= window {
		return true
	}
	return len(v) >= minWhole && hasLetter(v) && strings.ContainsAny(v, digits)
}

func isPublic(w string) bool {
	for _, p := range publicPrefixes {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// reportHits fails t for each hit, without printing the value itself.
func reportHits(t *testing.T, hits []hit) {
	t.Helper()
	for _, h := range hits {
		t.Errorf("%s found in %s at byte %d: …%q…", h.label, h.output, h.offset, h.context)
	}
}

// TestLeak runs apitap with every output on over captures whose secrets are
// known and searches all it wrote for them: the data lab's capture, and every
// capture of the shared corpus with the credentials tshark decodes in it.
func TestLeak(t *testing.T) {
	t.Run("lab", testLeakLab)
	t.Run("corpus", testLeakCorpus)
}

func testLeakLab(t *testing.T) {
	pcap, s := recordDataLab(t, true)
	bin := buildApitap(t)
	needles := []needle{
		{"email", s.Email, false},
		{"email local part", s.Email[:strings.IndexByte(s.Email, '@')], false},
		{"user id", s.UserID, true},
		{"JWT", s.JWT, true},
		{"JWT sub claim", s.JWTSubject, true},
		{"API key in query", s.QueryKey, true},
		{"API key in header", s.HeaderKey, true},
		{"token in a path", s.PathToken, true},
		{"key as the whole Authorization", s.BareKey, true},
		{"key as a bare query string", s.QueryName, true},
	}
	outs := outputs(t, bin, pcap)
	var total int
	for _, b := range outs {
		total += len(b)
	}
	hits := search(outs, needles)
	t.Logf("%d needles searched in %d outputs (%d bytes): %d hits", len(needles), len(outs),
		total, len(hits))
	reportHits(t, hits)

	// The search itself must work: the values are in the capture.
	raw, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	// The sub claim is in the capture only inside the token's base64.
	inClear := slices.DeleteFunc(slices.Clone(needles), func(n needle) bool {
		return n.label == "JWT sub claim"
	})
	if got := search(map[string][]byte{"pcap": raw}, inClear); len(got) != len(inClear) {
		t.Fatalf("self-check: %d of %d needles found in the capture itself; want all",
			len(got), len(inClear))
	}
}

// corpusDir finds ../shared/corpus beside the repository root (the
// directory holding go.mod above the test), or skips t.
func corpusDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "corpus")
			if _, err := os.Stat(c); err != nil {
				t.Skipf("corpus not found at %s: the corpus leak test needs it", c)
			}
			return c
		}
		if filepath.Dir(d) == d {
			t.Skip("go.mod not found above the test directory")
		}
	}
}

// credentialKey matches query keys whose values are credentials.
var credentialKey = regexp.MustCompile(
	`(?i)(key|token|secret|passw|pwd|auth|session|sess_?id|^sid$|sig|signature|credential|` +
		`jwt|bearer|access|code|ticket|nonce)`)

// minWhole is the shortest value searched at all (see distinctive).
const minWhole = 4

// unitSep joins repeated fields in tshark's output.
const unitSep = "\x1f"

func testLeakCorpus(t *testing.T) {
	Require(t, "tshark")
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no captures in %s", dir)
	}
	bin := buildApitap(t)

	var searched, skipped, values, inPcap, total int
	for _, f := range files {
		base := filepath.Base(f)
		carries, h2Ports := mayCarrySecrets(filepath.Join(dir, "truth", base+".jsonl"))
		if !carries {
			skipped++
			continue
		}
		t.Run(base, func(t *testing.T) {
			needles := tsharkNeedles(t, f, h2Ports)
			if len(needles) == 0 {
				return
			}
			searched++
			values += len(needles)
			// How many of the values the same search finds in the capture
			// itself: a value split across TCP segments or sent compressed
			// is missed there, so this is measured, not required.
			if raw, err := os.ReadFile(f); err == nil {
				inPcap += len(search(map[string][]byte{"pcap": raw}, needles))
			}
			outs := outputs(t, bin, f)
			for _, b := range outs {
				total += len(b)
			}
			reportHits(t, search(outs, needles))
		})
	}
	t.Logf("%d captures searched for %d values (%d of them found by the same search in "+
		"the capture file) in %d output bytes; %d captures skipped (their truth has no "+
		"Authorization, Cookie or query string)", searched, values, inPcap, total, skipped)
	if values > 0 && inPcap == 0 {
		t.Error("the search found none of tshark's values in the captures themselves")
	}
}

// mayCarrySecrets reads a truth file and reports whether any HTTP request in
// it has an Authorization or Cookie header or a query string, and the server
// ports of such HTTP/2 requests (tshark decodes h2c on them only when told).
// Without a truth file the answer is yes: tshark decides.
func mayCarrySecrets(truth string) (bool, []string) {
	f, err := os.Open(truth)
	if err != nil {
		return true, nil
	}
	defer f.Close()
	var carries bool
	var h2 []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		var l struct {
			Kind   string `json:"kind"`
			Dst    string `json:"dst"`
			Auth   bool   `json:"has_authorization"`
			Cookie bool   `json:"has_cookie"`
			URI    string `json:"uri"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil ||
			!(l.Auth || l.Cookie || strings.Contains(l.URI, "?")) {
			continue
		}
		carries = true
		if l.Kind == "http2" {
			if i := strings.LastIndexByte(l.Dst, ':'); i >= 0 && !slices.Contains(h2, l.Dst[i+1:]) {
				h2 = append(h2, l.Dst[i+1:])
			}
		}
	}
	return carries, h2
}

// tsharkNeedles asks tshark for the Authorization, Cookie and query string
// of every HTTP request in pcap and turns them into needles: the credential
// of each Authorization header (and a Basic password), every cookie value,
// and the values of credential-like query keys.
func tsharkNeedles(t *testing.T, pcap string, h2Ports []string) []needle {
	t.Helper()
	fields := func(filter string, opts []string, f ...string) string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		args := append([]string{"-n", "-r", pcap}, opts...)
		// Repeated headers come out joined by the aggregator; the unit
		// separator occurs in no header value, unlike tshark's default ','.
		args = append(args, "-Y", filter, "-T", "fields", "-E", "separator=/t",
			"-E", "aggregator="+unitSep)
		for _, e := range f {
			args = append(args, "-e", e)
		}
		cmd := exec.CommandContext(ctx, "tshark", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil && len(out) == 0 {
			t.Fatalf("tshark: %v\n%s", err, stderr.String())
		}
		return string(out)
	}
	out := fields("http.request", nil,
		"http.authorization", "http.cookie", "http.request.uri.query")
	if len(h2Ports) > 0 {
		var opts []string
		for _, p := range h2Ports {
			opts = append(opts, "-d", "tcp.port=="+p+",http2")
		}
		// HTTP/2 gives the whole :path; its query is cut out below.
		for _, l := range strings.Split(fields("http2.headers.method", opts,
			"http2.headers.authorization", "http2.headers.cookie", "http2.headers.path"),
			"\n") {
			if f := strings.Split(l, "\t"); len(f) == 3 {
				var q []string
				for _, p := range strings.Split(f[2], unitSep) {
					if _, query, ok := strings.Cut(p, "?"); ok {
						q = append(q, query)
					}
				}
				out += f[0] + "\t" + f[1] + "\t" + strings.Join(q, unitSep) + "\n"
			}
		}
	}

	var needles []needle
	seen := map[string]bool{}
	add := func(label, v string, cred bool) {
		v = strings.TrimSpace(v)
		if !distinctive(v) || seen[v] {
			return
		}
		seen[v] = true
		needles = append(needles, needle{label: label, value: v, windows: cred})
	}
	for n, line := range strings.Split(out, "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) < 3 {
			continue
		}
		where := fmt.Sprintf("request %d", n+1)
		for _, auth := range strings.Split(fields[0], unitSep) {
			if auth == "" {
				continue
			}
			scheme, cred, ok := strings.Cut(auth, " ")
			if !ok {
				cred = auth
			}
			add(where+" Authorization credential", cred, true)
			if strings.EqualFold(scheme, "basic") {
				dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
				if err == nil {
					add(where+" Basic user:password", string(dec), true)
					if _, pw, ok := strings.Cut(string(dec), ":"); ok {
						add(where+" Basic password", pw, true)
					}
				}
			}
		}
		for _, c := range strings.FieldsFunc(fields[1], func(r rune) bool {
			return r == ';' || r == 0x1f
		}) {
			name, v, ok := strings.Cut(strings.TrimSpace(c), "=")
			if !ok {
				continue
			}
			add(where+" cookie "+name+" value", strings.Trim(v, `"`), true)
		}
		for _, kv := range strings.FieldsFunc(fields[2], func(r rune) bool {
			return r == '&' || r == 0x1f
		}) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || !credentialKey.MatchString(k) {
				continue
			}
			add(where+" query "+k+" value", v, true)
			if dec, err := url.QueryUnescape(v); err == nil && dec != v {
				add(where+" query "+k+" value (decoded)", dec, true)
			}
		}
	}
	return needles
}
