package analysis

import (
	"testing"

	"github.com/apitap/apitap/sensor/config"
)

// TestDataConfig checks that the data section of a config file reaches the
// data-flow analysis.
func TestDataConfig(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	yaml := "data:\n  detectors:\n    phone: false\n  response_sample_every: 1\n"
	sc, err := config.Parse("f.yaml", []byte(yaml), noEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DataConfig(sc)
	if cfg.ResponseSampleEvery != 1 {
		t.Errorf("ResponseSampleEvery = %d; want 1", cfg.ResponseSampleEvery)
	}
	if !cfg.Disabled["phone"] || cfg.Disabled["email"] {
		t.Errorf("Disabled = %v; want phone only", cfg.Disabled)
	}
	if _, err := config.Parse("f.yaml", []byte("data:\n  response_sample_every: -1\n"), noEnv,
		nil); err == nil {
		t.Error("a negative response_sample_every was accepted")
	}
}
