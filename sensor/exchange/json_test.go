package exchange

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONIsValidAndHidesValues(t *testing.T) {
	ex := &Exchange{
		Start:     time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
		Client:    netip.MustParseAddrPort("10.0.0.1:5555"),
		Server:    netip.MustParseAddrPort("[2001:db8::1]:443"),
		Protocol:  ProtoHTTP11,
		Method:    "GET",
		Host:      "api.example.com",
		Path:      "/a\"b\x01\xff<",
		RawQuery:  "token=supersecretvalue&x=1",
		QueryKeys: []string{"token", "x"},
		Request: Message{Headers: []Header{{Name: "authorization",
			Value: "Bearer supersecretvalue"}}},
		Auth:   "bearer",
		Status: 200,
	}
	b := ex.AppendJSON(nil)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("AppendJSON produced invalid JSON %s: %v", b, err)
	}
	if strings.Contains(string(b), "supersecretvalue") {
		t.Fatalf("AppendJSON leaked a query or header value: %s", b)
	}
	if got, want := m["path"], "/a\"b\x01\ufffd<"; got != want {
		t.Errorf("path = %q; want %q", got, want)
	}
	if got := m["status"]; got != float64(200) {
		t.Errorf("status = %v; want 200", got)
	}
	if m["request_content_type"] != nil {
		t.Errorf("request_content_type = %v; want null", m["request_content_type"])
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("\x00\xff\"\\\u2028<>&")
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: invalid JSON: %v", s, b, err)
		}
		var want strings.Builder
		for _, r := range s { // one U+FFFD per invalid byte, as appendString does
			want.WriteRune(r)
		}
		if want.String() != got {
			t.Fatalf("round trip of %q gave %q", s, got)
		}
	})
}
