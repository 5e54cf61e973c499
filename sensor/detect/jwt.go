package detect

import (
	"encoding/base64"
	"strconv"
)

// JWT decoding limits: a token longer than maxJWTLen is not decoded (real
// ones are a few hundred bytes to a few KiB), and claim strings kept for
// findings are cut at maxClaimLen.
const (
	maxJWTLen   = 8192
	maxClaimLen = 128
)

// Subject kinds reported in JWTClaims.SubKind.
const (
	SubNone    = ""
	SubEmail   = "email"
	SubUUID    = "uuid"
	SubNumeric = "numeric"
	SubOther   = "other"
)

// JWTClaims are the parts of a JWT that findings may carry. The signature,
// the token and the subject itself are never kept: only what kind of subject
// it names.
type JWTClaims struct {
	Alg     string `json:"alg"`
	Typ     string `json:"typ,omitempty"`
	Iss     string `json:"iss,omitempty"`
	Aud     string `json:"aud,omitempty"` // the first audience when there are several
	SubKind string `json:"sub_kind,omitempty"`
	Exp     int64  `json:"exp,omitempty"` // Unix seconds; 0 when absent
	Iat     int64  `json:"iat,omitempty"`
	Nbf     int64  `json:"nbf,omitempty"`
	HasExp  bool   `json:"has_exp"`
}

// jwtDecoder holds the scratch space for decoding, reused across tokens.
type jwtDecoder struct {
	buf []byte
	tok Tokenizer
	// claims interns claim strings: a service's tokens repeat the same
	// alg, typ, iss and aud, and the lookup (m[string(b)]) costs no
	// allocation. Nil (as in DecodeJWT) means no interning.
	claims map[string]string
}

// maxInternedClaims bounds jwtDecoder.claims; it starts afresh when full.
const maxInternedClaims = 1024

// DecodeJWT decodes the header and claims of a compact JWS/JWT
// (header.payload.signature, base64url). It reports ok only when both parts
// decode to JSON objects and the header names an algorithm. It does not
// verify signatures.
func DecodeJWT(token []byte) (JWTClaims, bool) {
	var d jwtDecoder
	var c JWTClaims
	ok := d.decode(token, &c)
	return c, ok
}

func (d *jwtDecoder) decode(token []byte, c *JWTClaims) bool {
	*c = JWTClaims{}
	if len(token) > maxJWTLen {
		return false
	}
	d1 := indexByte(token, '.')
	if d1 < 0 {
		return false
	}
	d2 := indexByte(token[d1+1:], '.')
	if d2 < 0 {
		return false
	}
	d2 += d1 + 1
	head, payload, sig := token[:d1], token[d1+1:d2], token[d2+1:]
	if indexByte(sig, '.') >= 0 || len(head) < 4 || len(payload) < 4 {
		return false // five parts is JWE: encrypted, nothing to read
	}
	for _, c := range sig {
		if !csAlnumUD[c] {
			return false
		}
	}

	if !d.b64(head) || !d.object(func(k, v []byte, kind TokenKind) {
		switch string(k) {
		case "alg":
			c.Alg = d.claim(v)
		case "typ":
			c.Typ = d.claim(v)
		}
	}) || c.Alg == "" {
		return false
	}
	if !d.b64(payload) {
		return false
	}
	return d.object(func(k, v []byte, kind TokenKind) {
		switch string(k) {
		case "iss":
			c.Iss = d.claim(v)
		case "aud":
			if c.Aud == "" {
				c.Aud = d.claim(v)
			}
		case "sub":
			c.SubKind = subjectKind(v)
		case "exp":
			c.Exp, c.HasExp = claimTime(v, kind), kind == TokNumber
		case "iat":
			c.Iat = claimTime(v, kind)
		case "nbf":
			c.Nbf = claimTime(v, kind)
		}
	})
}

// b64 decodes base64url (padding optional) into d.buf.
func (d *jwtDecoder) b64(s []byte) bool {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	n := base64.RawURLEncoding.DecodedLen(len(s))
	if cap(d.buf) < n {
		d.buf = make([]byte, n, max(n, 512))
	}
	d.buf = d.buf[:n]
	m, err := base64.RawURLEncoding.Decode(d.buf, s)
	if err != nil {
		return false
	}
	d.buf = d.buf[:m]
	return true
}

// object walks the top level of the JSON object in d.buf and calls fn for
// each string, number or array-of-string member (for arrays, each element).
// Strings with escapes are passed raw; claims that matter never need them.
func (d *jwtDecoder) object(fn func(k, v []byte, kind TokenKind)) bool {
	t := &d.tok
	t.Reset(d.buf)
	if t.Next() != TokObjectOpen {
		return false
	}
	var key []byte
	for {
		switch k := t.Next(); k {
		case TokKey:
			if t.Depth() == 1 {
				key = d.buf[t.Start:t.End]
			}
		case TokString, TokNumber, TokLiteral:
			if t.Depth() == 1 || (t.Depth() == 2 && !t.InObject()) {
				fn(key, d.buf[t.Start:t.End], k)
			}
		case TokObjectClose:
			if t.Depth() == 0 {
				return true
			}
		case TokEnd, TokError:
			return false
		}
	}
}

// claim returns a claim string, cut at maxClaimLen.
func (d *jwtDecoder) claim(v []byte) string {
	if len(v) > maxClaimLen {
		v = v[:maxClaimLen]
	}
	if d.claims == nil {
		return string(v)
	}
	if c, ok := d.claims[string(v)]; ok {
		return c
	}
	if len(d.claims) >= maxInternedClaims {
		clear(d.claims)
	}
	c := string(v)
	d.claims[c] = c
	return c
}

func claimTime(v []byte, kind TokenKind) int64 {
	if kind != TokNumber {
		return 0
	}
	if i := indexByte(v, '.'); i >= 0 { // NumericDate may have a fraction
		v = v[:i]
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// subjectKind says what a sub claim names without keeping it.
func subjectKind(v []byte) string {
	switch {
	case len(v) == 0:
		return SubNone
	case indexByte(v, '@') > 0 && validEmail(v):
		return SubEmail
	case isUUID(v):
		return SubUUID
	}
	for _, c := range v {
		if !isDigit(c) {
			return SubOther
		}
	}
	return SubNumeric
}

// isUUID checks the 8-4-4-4-12 hex layout. It runs on every 36-byte value
// (inertShape asks), so it tests the dashes first and the digits by table.
func isUUID(v []byte) bool {
	if len(v) != 36 || v[8] != '-' || v[13] != '-' || v[18] != '-' || v[23] != '-' {
		return false
	}
	for i, c := range v {
		if !uuidByte[c] && i != 8 && i != 13 && i != 18 && i != 23 {
			return false
		}
	}
	return true
}

var uuidByte = makeCharset("0-9", "a-f", "A-F")
