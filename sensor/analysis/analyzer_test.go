package analysis

import (
	"bytes"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
)

// TestExchangeLogRedactsPath: the exchange log keeps integer ids in paths
// and writes every other value under its parameter's name, since a path may
// carry a token or an email.
func TestExchangeLogRedactsPath(t *testing.T) {
	var log bytes.Buffer
	a := New(Config{Exchanges: &log})
	const token = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
	for _, p := range []string{"/orders/4711", "/reset/" + token, "/users/bob@example.com"} {
		a.Exchange(&exchange.Exchange{Method: "GET", Path: p, Host: "shop.test"})
	}
	if _, err := a.Finish(&engine.Summary{}); err != nil {
		t.Fatal(err)
	}
	out := log.String()
	for _, want := range []string{`"path":"/orders/4711"`, `"path":"/reset/{resetId}"`,
		`"path":"/users/{userId}"`} {
		if !strings.Contains(out, want) {
			t.Errorf("exchange log lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, token) || strings.Contains(out, "bob@") {
		t.Errorf("exchange log holds a path value it should not:\n%s", out)
	}
}
