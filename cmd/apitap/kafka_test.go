package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/apitap/apitap/pipeline/ocsf/ocsftest"
)

// TestReadToKafka runs `apitap read --kafka` against a Kafka-protocol
// server (kfake, over TCP) and reads the topics back with kcat, an
// independent client: every finding and inventory row of the report
// arrives, valid against the schema, keyed by its uid, with no secret.
func TestReadToKafka(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat not installed (apt-get install kcat): the independent consumer check needs it")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "apitap.findings",
		"apitap.inventory"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	t.Setenv("APITAP_KEY_FILE", filepath.Join(t.TempDir(), "key"))

	out, _, err := runCmd(t, "read", "-r", demo, "--format", "json", "--kafka", addr)
	if err != nil {
		t.Fatalf("read --kafka: %v", err)
	}
	var rep struct {
		Findings []struct {
			UID string `json:"uid"`
		} `json:"findings"`
		Endpoints    []json.RawMessage `json:"endpoints"`
		ThirdParties []json.RawMessage `json:"third_parties"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, f := range rep.Findings {
		want[f.UID] = true
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	consume := func(topic string) [][2]string {
		b, err := exec.CommandContext(ctx, kcat, "-b", addr, "-C", "-t", topic, "-e", "-J", "-q",
			"-X", "fetch.wait.max.ms=20").Output()
		if err != nil {
			t.Fatalf("kcat %s: %v", topic, err)
		}
		var msgs [][2]string
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var m struct {
				Key     string `json:"key"`
				Payload string `json:"payload"`
			}
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("kcat line %s: %v", sc.Bytes(), err)
			}
			if err := ocsftest.Validate([]byte(m.Payload)); err != nil {
				t.Errorf("%s: event does not match the schema: %v", topic, err)
			}
			msgs = append(msgs, [2]string{m.Key, m.Payload})
		}
		return msgs
	}
	got := map[string]bool{}
	for _, m := range consume("apitap.findings") {
		got[m[0]] = true
		if !strings.Contains(m[1], m[0]) {
			t.Errorf("finding keyed %s does not carry that uid", m[0])
		}
		for _, secret := range []string{"demo-not-a-real-token", "not-a-real-password", "ada@example.org"} {
			if strings.Contains(m[1], secret) {
				t.Errorf("finding %s carries %q", m[0], secret)
			}
		}
	}
	for uid := range want {
		if !got[uid] {
			t.Errorf("finding %s of the report is not on apitap.findings", uid)
		}
	}
	inv := consume("apitap.inventory")
	if wantInv := len(rep.Endpoints) + len(rep.ThirdParties); len(inv) != wantInv {
		t.Errorf("apitap.inventory holds %d events; want %d (endpoints and third parties)",
			len(inv), wantInv)
	}
}

// TestReadKafkaUnreachable: with no broker, read fails fast with a clear
// error before reading the capture.
func TestReadKafkaUnreachable(t *testing.T) {
	t.Setenv("APITAP_KEY_FILE", filepath.Join(t.TempDir(), "key"))
	_, _, err := runCmd(t, "read", "-r", demo, "--kafka", "127.0.0.1:1")
	if err == nil || !strings.Contains(err.Error(), "kafka") {
		t.Fatalf("read --kafka to a closed port: %v; want a kafka error", err)
	}
}
