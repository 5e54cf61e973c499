package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const demo = "../../testdata/demo.pcap"

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(args, &o, &e)
	return o.String(), e.String(), err
}

// TestReadJSONContract checks the fields the output contract promises.
func TestReadJSONContract(t *testing.T) {
	out, _, err := runCmd(t, "read", "-r", demo, "--format", "json")
	if err != nil {
		t.Fatalf("read --format json: %v", err)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not one JSON object: %v", err)
	}
	sum := rep["summary"].(map[string]any)
	for _, k := range []string{"packets", "flows", "exchanges", "parse_errors", "first", "last"} {
		if _, ok := sum[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	eps := rep["endpoints"].([]any)
	if len(eps) == 0 {
		t.Fatal("no endpoints in the demo capture")
	}
	for _, k := range []string{"service", "host", "method", "path", "requests", "statuses",
		"first_seen", "last_seen", "clients", "template", "params", "spec_status"} {
		if _, ok := eps[0].(map[string]any)[k]; !ok {
			t.Errorf("endpoint lacks %q", k)
		}
	}
	var templates []string
	for _, e := range eps {
		m := e.(map[string]any)
		templates = append(templates, m["method"].(string)+" "+m["template"].(string))
	}
	want := "GET /api/v1/users/{userId}/orders/{orderId}"
	if !strings.Contains(strings.Join(templates, "\n"), want) {
		t.Errorf("templates %v; want one to be %q", templates, want)
	}
	if tp := rep["third_parties"].([]any); len(tp) < 3 {
		t.Errorf("third_parties has %d entries; want mixpanel, openai and slack", len(tp))
	}
}

// TestReadExchangesHideSecrets writes the exchange log and checks that the
// fake credentials and query values of the demo capture are not in it.
func TestReadExchangesHideSecrets(t *testing.T) {
	out, _, err := runCmd(t, "read", "-r", demo, "--exchanges", "-")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 20 {
		t.Errorf("%d exchange lines; want 20", len(lines))
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("bad line %q: %v", l, err)
		}
	}
	for _, secret := range []string{"demo-not-a-real-token", "not-a-real-password", "ref=home",
		"ada@example.org"} {
		if strings.Contains(out, secret) {
			t.Errorf("exchange log contains %q", secret)
		}
	}
}

func TestReadFromStdin(t *testing.T) {
	f, err := os.Open(demo)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	old := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = old }()
	out, _, err := runCmd(t, "read", "-r", "-", "--format", "json")
	if err != nil {
		t.Fatalf("read -r -: %v", err)
	}
	if !strings.Contains(out, `"exchanges": 20`) {
		t.Errorf("reading stdin did not find the 20 exchanges")
	}
}

// TestReadBadFiles checks that each kind of unusable input ends with one
// clear line and a non-zero status.
func TestReadBadFiles(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, want string
	}{
		{"missing", filepath.Join(dir, "nope.pcap"), "no such file"},
		{"empty", write("empty.pcap", nil), "file is empty"},
		{"not a capture", write("text.pcap", []byte("GET / HTTP/1.1\r\n\r\n")), "not a pcap or pcapng"},
		{"truncated header", write("head.pcap", data[:10]), "truncated"},
		{"truncated record", write("cut.pcap", data[:len(data)-7]), "truncated"},
		{"directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCmd(t, "read", "-r", tt.file, "--format", "json")
			if err == nil {
				t.Fatalf("read %s succeeded; want an error", tt.name)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q; want one line containing %q", msg, tt.want)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"bogus"}, {"read"}, {"read", "-r", demo, "--format", "xml"}} {
		_, _, err := runCmd(t, args...)
		if _, ok := err.(*usageError); !ok {
			t.Errorf("apitap %v: error %v; want a usage error", args, err)
		}
	}
}

// TestReadConfigPolicy moves Mixpanel to the trusted tier in a config
// file: the email it receives in the demo is then allowed, and the user id
// still is (trusted may receive identifiers), so no policy finding stays.
func TestReadConfigPolicy(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("APITAP_KEY_FILE", filepath.Join(dir, "key"))
	violations := func(args ...string) int {
		out, _, err := runCmd(t, append([]string{"read", "-r", demo, "--format", "json"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(out, `"type": "data_policy_violation"`)
	}
	if n := violations(); n != 2 {
		t.Fatalf("default policy: %d data_policy_violation findings; want 2 (email, user_id)", n)
	}
	cfg := filepath.Join(dir, "apitap.yaml")
	if err := os.WriteFile(cfg, []byte("vendors:\n  tiers:\n    mixpanel: trusted\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := violations("--config", cfg); n != 0 {
		t.Errorf("mixpanel trusted: %d data_policy_violation findings; want 0", n)
	}
	if err := os.WriteFile(cfg, []byte("vendors:\n  policy:\n    minimal: [user_id]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if n := violations("--config", cfg); n != 1 {
		t.Errorf("minimal may receive user_id: %d data_policy_violation findings; want 1 (email)", n)
	}
}
