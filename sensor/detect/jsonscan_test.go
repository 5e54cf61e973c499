package detect

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/apitap/apitap/sensor/secret"
)

// scanJSONTokens is ScanJSON written over a Tokenizer, the way it read
// bodies before it had its own loop: the reference the fast loop must agree
// with.
func (s *Scanner) scanJSONTokens(dir Direction, body []byte, fn func(*Match)) {
	c := scanCtx{pos: PosBody, dir: dir, fn: fn}
	var t Tokenizer
	t.Reset(body)
	for {
		k := t.Next()
		d := t.Depth()
		switch k {
		case TokEnd, TokError:
			return
		case TokKey:
			s.curKey[d] = [2]int{t.Start, t.End}
			s.curKind[d] = s.kindOf(body[t.Start:t.End])
		case TokObjectOpen, TokArrayOpen:
			s.isObj[d] = k == TokObjectOpen
			s.curKey[d], s.curKind[d] = [2]int{}, keyNone
			switch {
			case d > 1 && s.isObj[d-1]:
				s.ctxKey[d], s.ctxKind[d] = s.curKey[d-1], s.curKind[d-1]
			case d > 1:
				s.ctxKey[d], s.ctxKind[d] = s.ctxKey[d-1], s.ctxKind[d-1]
			default:
				s.ctxKey[d], s.ctxKind[d] = [2]int{}, keyNone
			}
		case TokString, TokNumber:
			if d == 0 {
				c.key, c.kind, c.parent = nil, keyNone, keyNone
			} else if s.isObj[d] {
				kk := s.curKey[d]
				c.key, c.kind, c.parent = body[kk[0]:kk[1]], s.curKind[d], s.ctxKind[d]
			} else {
				kk := s.ctxKey[d]
				c.key, c.kind, c.parent = body[kk[0]:kk[1]], s.ctxKind[d], s.ctxKind[max(d-1, 0)]
			}
			v := body[t.Start:t.End]
			c.base, c.encoded = t.Start, false
			if k == TokString && t.Escaped {
				c.encoded, c.encLen = true, len(v)
				s.val = Unescape(s.val[:0], v)
				v = s.val
			}
			s.scanValue(&c, v)
		}
	}
}

// collectJSON returns the matches of one reading of body.
func collectJSON(scan func(Direction, []byte, func(*Match)), body []byte) []Match {
	var out []Match
	scan(DirResponse, body, func(m *Match) {
		c := *m
		c.JWT = nil
		out = append(out, c)
	})
	return out
}

// TestScanJSONMatchesTokenizer checks that ScanJSON finds what the
// Tokenizer-based reading finds, match for match, on documents built from
// sensitive and inert values, with their prefixes (truncated bodies) and
// with bytes flipped (malformed ones).
func TestScanJSONMatchesTokenizer(t *testing.T) {
	sc := NewScanner(secret.Key{})
	ref := NewScanner(secret.Key{})
	values := []string{`"jane.doe@example.com"`, `"+14155552671"`, `"4111 1111 1111 1111"`,
		`"Jane Doe"`, `12`, `-3.5e2`, `"created"`, `"9f86d081"`, `true`, `null`, `false`,
		`"ab\"c"`, `"jane\u0040example.com"`, `"DE89 3704 0044 0532 0130 00"`,
		`"123e4567-e89b-12d3-a456-426614174000"`, `"10.1.2.3"`, `""`, `" 42 "`,
		`"sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd"`, `"1990-04-01"`, `51.5`}
	keys := []string{"email", "phone", "card", "name", "qty", "price", "status", "sku", "id",
		"user", "customer", "ip", "dob", "lat", "token", "password", "items", "x"}
	r := rand.New(rand.NewPCG(7, 11))
	var gen func(b []byte, depth int) []byte
	gen = func(b []byte, depth int) []byte {
		switch n := r.IntN(10); {
		case depth < 4 && n < 3:
			b = append(b, '{')
			for k := range r.IntN(4) {
				if k > 0 {
					b = append(b, ',')
				}
				b = append(b, '"')
				b = append(b, keys[r.IntN(len(keys))]...)
				b = append(b, `":`...)
				b = gen(b, depth+1)
			}
			return append(b, '}')
		case depth < 4 && n < 5:
			b = append(b, '[')
			for k := range r.IntN(4) {
				if k > 0 {
					b = append(b, ", "...)
				}
				b = gen(b, depth+1)
			}
			return append(b, ']')
		}
		return append(b, values[r.IntN(len(values))]...)
	}
	docs, matches := 0, 0
	for range 3000 {
		doc := gen(nil, 0)
		variants := [][]byte{doc, doc[:r.IntN(len(doc)+1)]}
		if len(doc) > 0 {
			bad := append([]byte(nil), doc...)
			bad[r.IntN(len(bad))] = "{}[]\":,x1 \\"[r.IntN(11)]
			variants = append(variants, bad)
		}
		for _, v := range variants {
			docs++
			got := collectJSON(sc.ScanJSON, v)
			want := collectJSON(ref.scanJSONTokens, v)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ScanJSON(%s):\n got %+v\nwant %+v", v, got, want)
			}
			matches += len(got)
		}
	}
	if docs < 6000 || matches < 3000 {
		t.Fatalf("compared %d documents with %d matches; want at least 6000 and 3000",
			docs, matches)
	}
}
