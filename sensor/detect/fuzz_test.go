package detect

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apitap/apitap/sensor/secret"
)

// checkMatch asserts what every match must satisfy whatever the input.
func checkMatch(t *testing.T, m *Match, partLen int) {
	t.Helper()
	if m.Start < 0 || m.End > partLen || m.Start > m.End {
		t.Fatalf("match %s: offsets [%d,%d) outside part of %d bytes", m.Class, m.Start, m.End, partLen)
	}
	if _, ok := Info(m.Class); !ok {
		t.Fatalf("match with unknown class %q", m.Class)
	}
	if !strings.HasPrefix(m.Fingerprint, secret.FingerprintPrefix) {
		t.Fatalf("match %s: fingerprint %q", m.Class, m.Fingerprint)
	}
	shown := strings.TrimSuffix(m.Preview, secret.Ellipsis)
	if m.Category != CatCredential && utf8.RuneCountInString(shown) > secret.MaxPreviewChars {
		t.Fatalf("match %s: preview %q shows too much", m.Class, m.Preview)
	}
	if m.Class == ClassJWT && m.JWT == nil {
		t.Fatalf("jwt match without claims")
	}
}

func FuzzTokenizer(f *testing.F) {
	for _, s := range []string{`{"a":[1,"b",{"c":null}]}`, `[tru`, `{"k":"v\u00e9"`, `"x"`, `]]]`,
		`{"a":1}{"b":2}`, `{"":-0.5e+3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var tok Tokenizer
		tok.Reset(b)
		for n := 0; ; n++ {
			if n > len(b)+1 {
				t.Fatalf("tokenizer did not finish after %d tokens on %d bytes", n, len(b))
			}
			k := tok.Next()
			if k == TokEnd || k == TokError {
				return
			}
			if tok.Start < 0 || tok.End > len(b) || tok.Start > tok.End {
				t.Fatalf("token %v: span [%d,%d) outside %d bytes", k, tok.Start, tok.End, len(b))
			}
			if tok.Depth() < 0 || tok.Depth() > MaxJSONDepth {
				t.Fatalf("depth %d", tok.Depth())
			}
			if k == TokString || k == TokKey {
				Unescape(nil, b[tok.Start:tok.End])
			}
		}
	})
}

func FuzzScanJSON(f *testing.F) {
	f.Add([]byte(`{"user":{"name":"Jane Doe","email":"jane@example.com"},"card":"4111 1111 1111 1111"}`))
	f.Add([]byte(`[{"lat":1.5,"lon":-2.25},{"api_key":"abcdefABCDEF0123456789"}]`))
	sc := NewScanner(secret.Key{})
	ref := NewScanner(secret.Key{})
	f.Fuzz(func(t *testing.T, b []byte) {
		sc.ScanJSON(DirResponse, b, func(m *Match) { checkMatch(t, m, len(b)) })
		// The fast loop reads what the Tokenizer reads.
		got, want := collectJSON(sc.ScanJSON, b), collectJSON(ref.scanJSONTokens, b)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ScanJSON(%q):\n got %+v\nwant %+v", b, got, want)
		}
	})
}

func FuzzScanForm(f *testing.F) {
	f.Add([]byte("a=1&password=hunter22x&email=a%40example.com"), false)
	f.Add([]byte("%zz=%&&=&token=abc+def%2"), true)
	sc := NewScanner(secret.Key{})
	f.Fuzz(func(t *testing.T, b []byte, query bool) {
		pos := PosBody
		if query {
			pos = PosQuery
		}
		sc.ScanForm(pos, DirRequest, b, func(m *Match) { checkMatch(t, m, len(b)) })
	})
}

func FuzzDecodeJWT(f *testing.F) {
	f.Add([]byte(b64(`{"alg":"HS256"}`) + "." + b64(`{"sub":"1","exp":1}`) + ".c2ln"))
	f.Add([]byte(b64(`{"alg":"none"}`) + "." + b64(`{"aud":["a","b"]}`) + "."))
	f.Add([]byte("eyJ.eyJ.x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := DecodeJWT(b)
		if !ok {
			return
		}
		if c.Alg == "" {
			t.Fatalf("decoded without alg")
		}
		for _, s := range []string{c.Alg, c.Typ, c.Iss, c.Aud} {
			if len(s) > maxClaimLen {
				t.Fatalf("claim of %d bytes kept", len(s))
			}
		}
	})
}

func FuzzScanValue(f *testing.F) {
	f.Add([]byte("password"), []byte("Tr0ub4dor&3"), uint8(PosBody))
	f.Add([]byte(""), []byte("mail a@b.co or call +14155552671, card 4111-1111-1111-1111"), uint8(PosBody))
	f.Add([]byte("authorization"), []byte("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."), uint8(PosHeader))
	f.Add([]byte("iban"), []byte("DE89 3704 0044 0532 0130 00"), uint8(PosQuery))
	sc := NewScanner(secret.Key{})
	f.Fuzz(func(t *testing.T, key, value []byte, pos uint8) {
		p := Position(pos%5 + 1)
		sc.ScanValue(p, DirRequest, key, value, func(m *Match) { checkMatch(t, m, len(value)) })
		sc.ScanHeader(DirRequest, strings.ToLower(string(key)), string(value), func(m *Match) {
			checkMatch(t, m, len(value))
		})
	})
}
