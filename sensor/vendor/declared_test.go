package vendor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDeclaredExample(t *testing.T) {
	d, err := LoadDeclared("testdata/vendors.example.yaml", nil)
	if err != nil {
		t.Fatalf("LoadDeclared(example): %v", err)
	}
	cat := Default()
	tests := []struct {
		name string
		ids  []string
		host string
		want bool
	}{
		{"global id", nil, "api.stripe.com", true},
		{"global domain", nil, "status.example-partner.com", true},
		{"under global domain", nil, "eu.status.example-partner.com", true},
		{"sibling of global domain", nil, "api.example-partner.com", false},
		{"not listed", nil, "api.mixpanel.com", false},
		{"service by host:port", []string{"api.internal:8080"}, "api.openai.com", true},
		{"other service", []string{"billing-worker"}, "api.openai.com", false},
		{"service by comm", []string{"billing-worker"}, "checkout-test.adyen.com", true},
		{"service by ip", []string{"10.0.3.7"}, "api.sendgrid.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := d.Allows(tt.ids, cat.Match(tt.host), tt.host); got != tt.want {
				t.Errorf("Allows(%v, %s) = %v; want %v", tt.ids, tt.host, got, tt.want)
			}
		})
	}
	if d.Services() != 3 {
		t.Errorf("Services() = %d; want 3", d.Services())
	}
}

func TestParseDeclaredErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"unknown key", "vendors: [stripe]\nservice:\n  a: [stripe]\n",
			"v.yaml:2: service: unknown key"},
		{"unknown id", "vendors:\n  - stripe\n  - stirpe\n",
			`v.yaml:3: vendors: unknown vendor id "stirpe"`},
		{"bad domain", "vendors: [\"bad..example.com\"]\n", `v.yaml:1: vendors: invalid domain`},
		{"not a list", "vendors: stripe\n", "v.yaml:1: vendors: must be a list"},
		{"services not a map", "services: [stripe]\n", "v.yaml:1: services: must be a mapping"},
		{"service entry", "services:\n  api:\n    - stripe\n    - {id: x}\n",
			"v.yaml:4: services.api: entry must be"},
		{"duplicate service", "services:\n  api: [stripe]\n  api: [sentry]\n", "v.yaml:"},
		{"top level list", "- stripe\n", "v.yaml:1: top level must be a mapping"},
		{"number entry", "vendors: [42]\n", "v.yaml:1: vendors: entry must be"},
		{"yaml syntax", "vendors: [stripe\n", "v.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDeclared("v.yaml", []byte(tt.in), nil)
			if err == nil || !errors.Is(err, ErrDeclared) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseDeclared(%q) error = %v; want ErrDeclared containing %q",
					tt.in, err, tt.want)
			}
		})
	}
}

func TestParseDeclaredEmpty(t *testing.T) {
	for _, in := range []string{"", "# nothing\n", "vendors:\nservices:\n", "~\n"} {
		d, err := ParseDeclared("e.yaml", []byte(in), nil)
		if err != nil {
			t.Errorf("ParseDeclared(%q) error = %v; want nil", in, err)
			continue
		}
		if d.Allows([]string{"x"}, Default().Match("api.stripe.com"), "api.stripe.com") {
			t.Errorf("ParseDeclared(%q).Allows(stripe) = true; want false", in)
		}
	}
	_, err := LoadDeclared(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadDeclared(missing) error = %v; want os.ErrNotExist", err)
	}
}

func FuzzParseDeclared(f *testing.F) {
	seed, err := os.ReadFile("testdata/vendors.example.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("vendors: [stripe, a.example.com]\nservices: {x: [sentry]}\n"))
	f.Add([]byte("services:\n  a: &x [stripe]\n  b: *x\n"))
	f.Add([]byte("vendors: !!binary aGVsbG8=\n"))
	cat := Default()
	f.Fuzz(func(t *testing.T, in []byte) {
		d, err := ParseDeclared("fuzz.yaml", in, cat)
		if err != nil {
			if !errors.Is(err, ErrDeclared) {
				t.Fatalf("error %v does not wrap ErrDeclared", err)
			}
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %v does not name the file", err)
			}
			return
		}
		d.Allows([]string{"a", "b"}, cat.Match("api.stripe.com"), "api.stripe.com")
	})
}

func FuzzMatch(f *testing.F) {
	for _, s := range []string{"o123.ingest.sentry.io", "api.openai.com", "evilopenai.com", "",
		".", "..", "a..b.com", "COM.", "x.blob.core.windows.net", "\xff.com"} {
		f.Add(s)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, host string) {
		v := c.Match(host)
		if v == nil {
			return
		}
		// Whatever matched must be one of the vendor's domains, on a label
		// boundary of the (lower-cased, dot-trimmed) host.
		h := strings.ToLower(strings.TrimSuffix(host, "."))
		for _, d := range v.Domains {
			key, wild := strings.CutPrefix(d, "*.")
			if (!wild && h == key) || strings.HasSuffix(h, "."+key) {
				return
			}
		}
		t.Fatalf("Match(%q) = %q, but no domain of it covers the host", host, v.ID)
	})
}
