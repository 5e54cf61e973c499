package dataflow

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/secret"
)

// TestNoLeak sends known fake secrets and personal data through every
// position an exchange has, marshals everything the analyzer outputs, and
// checks that no raw value, and no 8-character piece of a secret, appears.
func TestNoLeak(t *testing.T) {
	fk := newFakes(42)
	gh, oa := fk.github(), fk.openai()
	aws := "AKIA" + fk.str(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	generic := fk.mixed(40)
	session := fk.mixed(32)
	password := "Pw-" + fk.mixed(13)
	basicPass := fk.mixed(18)
	basic := base64.StdEncoding.EncodeToString([]byte("svc-user:" + basicPass))
	subject := "subject.person@mail-leak.test"
	tok := jwt(`{"alg":"none"}`, `{"iss":"https://auth.internal/","sub":"`+subject+`","iat":1767000000}`)
	tokSig := strings.Split(tok, ".")

	secrets := []string{gh, oa, aws, generic, session, password, basicPass, basic, tok, tokSig[1]}
	pii := []string{"jane.leak@mail-leak.test", "+14155552671", "4111 1111 1111 1111", "4111111111111111",
		"DE89370400440532013000", "123-45-6789", "Janet Leakington", "221 Leaky Lane", "1984-03-15",
		subject, "u_leak_98765", "org-leak-4321"}

	exs := []*exchange.Exchange{
		newEx("collector.tracker.example", "/v1/u/jane.leak@mail-leak.test/"+gh, clear(),
			query("api_key="+oa+"&card=4111111111111111&ssn=123-45-6789"),
			header("authorization", "Bearer "+tok),
			header("cookie", "theme=dark; sessionid="+session),
			header("x-api-key", generic),
			reqJSON(`{"user":{"name":"Janet Leakington","email":"jane.leak@mail-leak.test","id":"u_leak_98765",`+
				`"phone":"+14155552671","dob":"1984-03-15","address":"221 Leaky Lane"},"org_id":"org-leak-4321",`+
				`"aws":"`+aws+`","password":"`+password+`","iban":"DE89370400440532013000",`+
				`"note":"card 4111 1111 1111 1111"}`)),
		newEx("api.segment.io", "/login", header("authorization", "Basic "+basic), inbound(),
			respJSON(`{"email":"jane.leak@mail-leak.test","token":"`+generic+`"}`),
			func(ex *exchange.Exchange) {
				ex.Response.Headers = append(ex.Response.Headers, exchange.Header{Name: "set-cookie",
					Value: "sessionid=" + session + "; Path=/; HttpOnly"})
			}),
	}
	a := New(Config{LearningWindow: time.Minute, SharedClients: 1,
		Policy: Policy{Default: []string{"identifier"}}}, testKey, resolver)
	for i := 0; i < 3; i++ {
		for _, ex := range exs {
			c := *ex
			c.Start = ex.Start.Add(time.Duration(i) * time.Hour)
			if i > 0 {
				c.Client = newEx("x", "/", client(fmt.Sprintf("10.9.0.%d", i))).Client
			}
			a.Exchange(&c)
		}
	}

	out, err := json.Marshal(map[string]any{
		"flows": a.DataFlows(), "credentials": a.Credentials(), "findings": a.Findings(), "stats": a.Stats(),
	})
	if err != nil {
		t.Fatal(err)
	}
	doc := string(out)
	// JSON escapes some bytes; compare against the unescaped text too.
	var unq any
	_ = json.Unmarshal(out, &unq)
	plain := fmt.Sprint(unq)

	if len(a.Findings()) < 6 || len(a.Credentials()) < 5 || len(a.DataFlows()) < 10 {
		t.Fatalf("too little output to mean anything: %d findings, %d credentials, %d flows",
			len(a.Findings()), len(a.Credentials()), len(a.DataFlows()))
	}
	for _, v := range pii {
		if strings.Contains(doc, v) || strings.Contains(plain, v) {
			t.Errorf("output contains personal value %q", v)
		}
	}
	for _, v := range secrets {
		for i := 0; i+8 <= len(v); i++ {
			sub := v[i : i+8]
			if allowedPrefix(v, i+8) {
				continue
			}
			if strings.Contains(doc, sub) || strings.Contains(plain, sub) {
				t.Errorf("output contains %q, a piece of a secret", sub)
				break
			}
		}
	}
	if os.Getenv("DATAFLOW_DUMP") != "" {
		t.Logf("%s", out)
	}
	if testing.Verbose() {
		t.Logf("output: %d bytes, %d findings, %d credentials, %d flows", len(out), len(a.Findings()),
			len(a.Credentials()), len(a.DataFlows()))
	}
}

// allowedPrefix reports whether v[:end] lies inside the published vendor
// prefix a preview may show ("sk-proj-").
func allowedPrefix(v string, end int) bool {
	p := strings.TrimSuffix(secret.Preview("openai_api_key", []byte(v)), secret.Ellipsis)
	return end <= len(p)
}
