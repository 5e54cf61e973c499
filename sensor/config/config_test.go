package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func TestExampleValidates(t *testing.T) {
	c, err := Parse("example.yaml", Example(), noEnv, nil)
	if err != nil {
		t.Fatalf("Parse(example) = %v", err)
	}
	if got, want := c.Output.Kafka.Compression, "zstd"; got != want {
		t.Errorf("kafka compression = %q; want %q", got, want)
	}
	if got, want := c.Capture.Ring.BlockSize, 1*MiB; got != want {
		t.Errorf("ring block size = %v; want %v", got, want)
	}
	if got, want := c.Capture.Limits.IdleTimeout, 2*time.Minute; got != want {
		t.Errorf("idle timeout = %v; want %v", got, want)
	}
	if got, want := strings.Join(c.Capture.Interfaces, ","), "eth0,veth*,cali*"; got != want {
		t.Errorf("interfaces = %q; want %q", got, want)
	}
}

func TestEmptyFileGivesDefaults(t *testing.T) {
	c, err := Parse("empty.yaml", nil, noEnv, nil)
	if err != nil {
		t.Fatalf("Parse(empty) = %v", err)
	}
	var want Config
	want.Defaults()
	if fmt.Sprintf("%+v", *c) != fmt.Sprintf("%+v", want) {
		t.Errorf("Parse(empty) = %+v; want %+v", *c, want)
	}
	if c.Capture.Mode != "afpacket" || c.Output.Type != "stdout" || c.Log.Level != "info" {
		t.Errorf("defaults: mode %q output %q level %q", c.Capture.Mode, c.Output.Type, c.Log.Level)
	}
}

func TestCheckFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(good); err != nil {
		t.Errorf("Check(example) = %v; want nil", err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	want := "config: read " + missing + ": no such file or directory"
	if err := Check(missing); err == nil || err.Error() != want {
		t.Errorf("Check(missing) = %v; want %q", err, want)
	}
}

// TestMistakes pins the exact message for each kind of mistake: operators
// read these, and tests in other packages may match them.
func TestMistakes(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"enum", "output:\n  kafka:\n    compression: zsdt\n",
			`f.yaml:3: output.kafka.compression: "zsdt" is not one of zstd, lz4, snappy, gzip, none`},
		{"unknown key with suggestion", "output:\n  kafka:\n    compresion: zstd\n",
			`f.yaml:3: output.kafka.compresion: unknown field (did you mean "compression"?)`},
		{"unknown key transposed", "capture:\n  intefraces: [eth0]\n",
			`f.yaml:2: capture.intefraces: unknown field (did you mean "interfaces"?)`},
		{"unknown key far from any", "capture:\n  banana: 1\n",
			`f.yaml:2: capture.banana: unknown field`},
		{"unknown top-level", "outptu: {}\n",
			`f.yaml:1: outptu: unknown field (did you mean "output"?)`},
		{"integer type", "capture:\n  workers: four\n",
			`f.yaml:2: capture.workers: want an integer, got "four"`},
		{"bool type", "tls:\n  uprobes: yes\n",
			`f.yaml:2: tls.uprobes: want true or false, got "yes"`},
		{"list type", "capture:\n  interfaces: eth0\n",
			`f.yaml:2: capture.interfaces: want a list, got "eth0"`},
		{"mapping type", "capture: afpacket\n",
			`f.yaml:1: capture: want a mapping, got "afpacket"`},
		{"range", "capture:\n  workers: -1\n",
			`f.yaml:2: capture.workers: -1 is out of range 1..256`},
		{"duration without unit", "capture:\n  limits:\n    idle_timeout: 30\n",
			`f.yaml:3: capture.limits.idle_timeout: "30" is not a duration: add a unit (30s)`},
		{"duration garbage", "capture:\n  limits:\n    idle_timeout: soon\n",
			`f.yaml:3: capture.limits.idle_timeout: "soon" is not a duration (e.g. "30s", "5m")`},
		{"duration range", "capture:\n  limits:\n    idle_timeout: 100ms\n",
			`f.yaml:3: capture.limits.idle_timeout: 100ms is out of range 1s..24h0m0s`},
		{"size garbage", "capture:\n  ring:\n    block_size: 64XB\n",
			`f.yaml:3: capture.ring.block_size: "64XB" is not a size (e.g. "64MiB", "512KiB", "1GB")`},
		{"size range", "output:\n  kafka:\n    spool:\n      max_size: 2TiB\n",
			`f.yaml:4: output.kafka.spool.max_size: 2TiB is out of range 1MiB..1TiB`},
		{"size not page multiple", "capture:\n  snaplen: 1500\n  ring:\n    block_size: 5000\n",
			`f.yaml:4: capture.ring.block_size: 5000B is not a multiple of 4KiB (the page size)`},
		{"block smaller than snaplen", "capture:\n  ring:\n    block_size: 64KiB\n",
			`f.yaml:3: capture.ring.block_size: 64KiB cannot hold a packet of capture.snaplen 262144 bytes plus its header`},
		{"cidr", "capture:\n  filter:\n    cidrs: [10.0.0.0/8, 10.1.0.0/33]\n",
			`f.yaml:3: capture.filter.cidrs[1]: "10.1.0.0/33" is not a CIDR (e.g. "10.0.0.0/8", "fd00::/8")`},
		{"cidr bare address", "capture:\n  filter:\n    cidrs:\n      - 10.1.2.3\n",
			`f.yaml:4: capture.filter.cidrs[0]: "10.1.2.3" is not a CIDR: add the prefix length (10.1.2.3/32)`},
		{"port", "capture:\n  filter:\n    ports: [80, 70000]\n",
			`f.yaml:3: capture.filter.ports[1]: 70000 is out of range 1..65535`},
		{"interface pattern", "capture:\n  interfaces: [\"veth[\"]\n",
			`f.yaml:2: capture.interfaces[0]: "veth[" is not a valid interface pattern`},
		{"interface too long", "capture:\n  interfaces: [averyveryverylongname]\n",
			`f.yaml:2: capture.interfaces[0]: "averyveryverylongname" is longer than 15 bytes, the kernel's limit for interface names`},
		{"all with others", "capture:\n  interfaces: [all, eth0]\n",
			`f.yaml:2: capture.interfaces: "all" cannot be combined with other interfaces`},
		{"missing file", "output:\n  kafka:\n    tls:\n      ca: /nonexistent/ca.pem\n",
			`f.yaml:4: output.kafka.tls.ca: "/nonexistent/ca.pem": no such file`},
		{"directory as file", "output:\n  kafka:\n    tls:\n      ca: " + dir + "\n",
			`f.yaml:4: output.kafka.tls.ca: "` + dir + `" is a directory, not a file`},
		{"cert without key", "output:\n  kafka:\n    tls:\n      cert: " + pem + "\n",
			`f.yaml:3: output.kafka.tls: cert and key must be set together`},
		{"broker", "output:\n  kafka:\n    brokers: [kafka-1]\n",
			`f.yaml:3: output.kafka.brokers[0]: "kafka-1" is not host:port (e.g. "kafka-1:9092")`},
		{"broker port", "output:\n  kafka:\n    brokers: [\"kafka-1:99999\"]\n",
			`f.yaml:3: output.kafka.brokers[0]: "kafka-1:99999": port "99999" is not a number in 1..65535`},
		{"kafka without brokers", "output:\n  type: kafka\n",
			`f.yaml:2: output.kafka.brokers: required when output.type is kafka (or set APITAP_KAFKA_BROKERS)`},
		{"file without path", "output:\n  type: file\n",
			`f.yaml:2: output.file.path: required when output.type is file`},
		{"inline password", "output:\n  kafka:\n    sasl:\n      password: hunter2\n",
			`f.yaml:4: output.kafka.sasl.password: secrets are not read from the config file: use password_file or APITAP_KAFKA_SASL_PASSWORD`},
		{"sasl without password", "output:\n  kafka:\n    sasl:\n      mechanism: plain\n      user: u\n",
			`f.yaml:4: output.kafka.sasl.password_file: required for mechanism plain (or set APITAP_KAFKA_SASL_PASSWORD)`},
		{"duplicate key", "log:\n  level: info\n  level: debug\n",
			`f.yaml:3: log.level: duplicate key (first set on line 2)`},
		{"uprobes need ebpf", "tls:\n  uprobes: true\n",
			`f.yaml:2: tls.uprobes: needs capture.mode ebpf`},
		{"relative state dir", "state_dir: var/lib/apitap\n",
			`f.yaml:1: state_dir: "var/lib/apitap" is not an absolute path`},
		{"tier enum", "vendors:\n  tiers:\n    stripe: gold\n",
			`f.yaml:3: vendors.tiers.stripe: "gold" is not one of critical, trusted, limited, minimal`},
		{"policy class", "vendors:\n  policy:\n    low: [pii, ssn]\n",
			`f.yaml:3: vendors.policy.low[1]: "ssn" is not a data class (email, jwt, …), a category (credential, pii, identifier) or "*"`},
		{"vendor id", "vendors:\n  declared: [\"Segment IO\"]\n",
			`f.yaml:2: vendors.declared[0]: "Segment IO" is not a valid id (lowercase letters, digits, '.', '_', '-')`},
		{"detector name", "data:\n  detectors:\n    emial: false\n",
			`f.yaml:3: data.detectors.emial: key "emial" is not one of ` + strings.Join(DetectorNames, ", ")},
		{"topic", "output:\n  kafka:\n    topics:\n      findings: \"my topic\"\n",
			`f.yaml:4: output.kafka.topics.findings: "my topic" is not a valid Kafka topic name`},
		{"listen", "metrics:\n  listen: localhost\n",
			`f.yaml:2: metrics.listen: "localhost" is not host:port (e.g. "kafka-1:9092")`},
		{"expression with ports", "capture:\n  filter:\n    ports: [80]\n    expression: tcp\n",
			`f.yaml:4: capture.filter.expression: cannot be combined with ports or cidrs: write them into the expression`},
		{"flow bytes over total", "capture:\n  limits:\n    max_flow_bytes: 512MiB\n",
			`f.yaml:3: capture.limits.max_flow_bytes: 512MiB is more than capture.limits.max_total_bytes 256MiB`},
		{"spec host without spec", "discovery:\n  spec_hosts:\n    /x.yaml: [a.example]\n",
			`f.yaml:3: discovery.spec_hosts./x.yaml: "/x.yaml" is not listed in discovery.specs`},
		{"yaml syntax", "capture:\n  mode: [afpacket\n",
			`f.yaml:1: did not find expected ',' or ']'`},
		{"two mistakes", "log:\n  level: loud\n  format: xml\n",
			"f.yaml:2: log.level: \"loud\" is not one of debug, info, warn, error\n" +
				"f.yaml:3: log.format: \"xml\" is not one of text, json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml), noEnv, nil)
			if err == nil {
				t.Fatalf("Parse(%q) = nil error; want %q", tt.yaml, tt.want)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse(%q) error:\n got %s\nwant %s", tt.yaml, got, tt.want)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Errorf("errors.As(%v, *Error) = false; want true", err)
			}
		})
	}
}

func TestEnvAndOverride(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cr3t-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := "log:\n  level: warn\noutput:\n  type: kafka\n  kafka:\n    brokers: [\"a:9092\"]\n" +
		"    sasl:\n      mechanism: scram-sha-512\n      user: apitap\n      password_file: " + pwFile + "\n"
	env := map[string]string{
		"APITAP_LOG_LEVEL":     "debug",
		"APITAP_KAFKA_BROKERS": "b:9092, c:9093",
	}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	c, err := Parse("f.yaml", []byte(file), lookup, nil)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if c.Log.Level != "debug" {
		t.Errorf("log.level = %q; want env value %q", c.Log.Level, "debug")
	}
	if got := strings.Join(c.Output.Kafka.Brokers, ","); got != "b:9092,c:9093" {
		t.Errorf("brokers = %q; want %q", got, "b:9092,c:9093")
	}
	if got := c.Output.Kafka.SASL.Password.Reveal(); got != "s3cr3t-from-file" {
		t.Errorf("password from file = %q; want %q", got, "s3cr3t-from-file")
	}

	level := "error"
	c, err = Parse("f.yaml", []byte(file), lookup, &Override{LogLevel: &level, KafkaBrokers: []string{"d:1"}})
	if err != nil {
		t.Fatalf("Parse with override = %v", err)
	}
	if c.Log.Level != "error" || c.Output.Kafka.Brokers[0] != "d:1" {
		t.Errorf("override: level %q brokers %v; want error [d:1]", c.Log.Level, c.Output.Kafka.Brokers)
	}

	env["APITAP_KAFKA_SASL_PASSWORD"] = "s3cr3t-from-env"
	env["APITAP_LOG_FORMAT"] = "yaml"
	_, err = Parse("f.yaml", []byte(file), lookup, nil)
	want := `env APITAP_LOG_FORMAT: log.format: "yaml" is not one of text, json`
	if err == nil || err.Error() != want {
		t.Errorf("Parse with bad env = %v; want %q", err, want)
	}
	delete(env, "APITAP_LOG_FORMAT")

	bad := "loud"
	_, err = Parse("f.yaml", []byte(file), lookup, &Override{LogLevel: &bad})
	want = `command line: log.level: "loud" is not one of debug, info, warn, error`
	if err == nil || err.Error() != want {
		t.Errorf("Parse with bad override = %v; want %q", err, want)
	}

	c, err = Parse("f.yaml", []byte(file), lookup, nil)
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	if got := c.Output.Kafka.SASL.Password.Reveal(); got != "s3cr3t-from-env" {
		t.Errorf("password from env = %q; want %q", got, "s3cr3t-from-env")
	}
	// The secret must not leak through any ordinary way of printing.
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		out := fmt.Sprintf(format, c)
		if strings.Contains(out, "s3cr3t") || strings.Contains(out, fmt.Sprintf("%x", "s3cr3t")) {
			t.Errorf("Sprintf(%q, config) leaks the password", format)
		}
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"4096", 4096, true},
		{"64MiB", 64 << 20, true},
		{"1.5GiB", 3 << 29, true},
		{"512kB", 512000, true},
		{"1GB", 1e9, true},
		{"10 MiB", 10 << 20, true},
		{"MiB", 0, false},
		{"-1", 0, false},
		{"12XB", 0, false},
		{"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Example())
	f.Add([]byte("capture:\n  workers: 3\n  ring: {block_size: 2MiB}\n"))
	f.Add([]byte("a: &x [1, *x]\n"))
	f.Add([]byte("output: {kafka: {brokers: [\"a:1\"], compression: lz4}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("fuzz.yaml", data, noEnv, nil)
		if err == nil && c == nil {
			t.Fatal("Parse returned neither config nor error")
		}
		if err != nil && c != nil {
			t.Fatal("Parse returned both config and error")
		}
	})
}
