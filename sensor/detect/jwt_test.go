package detect

import (
	"strings"
	"testing"
)

func TestDecodeJWT(t *testing.T) {
	sig := strings.Repeat("s", 43)
	tests := []struct {
		name   string
		token  string
		ok     bool
		claims JWTClaims
	}{
		{"full", b64(`{"alg":"RS256","typ":"JWT","kid":"k1"}`) + "." +
			b64(`{"iss":"https://idp.example.test/","aud":["api","web"],"sub":"a@example.com",`+
				`"exp":1700003600,"iat":1700000000,"nbf":1700000000.5}`) + "." + sig,
			true, JWTClaims{Alg: "RS256", Typ: "JWT", Iss: "https://idp.example.test/", Aud: "api",
				SubKind: SubEmail, Exp: 1700003600, Iat: 1700000000, Nbf: 1700000000, HasExp: true}},
		{"alg none, empty signature", b64(`{"alg":"none"}`) + "." + b64(`{"sub":"12345"}`) + ".",
			true, JWTClaims{Alg: "none", SubKind: SubNumeric}},
		{"uuid subject, padded", b64(`{"alg":"HS256"}`) + "==." +
			b64(`{"sub":"0b6f1a7c-1d2e-4f00-9abc-1234567890ab"}`) + "." + sig,
			true, JWTClaims{Alg: "HS256", SubKind: SubUUID}},
		{"no alg", b64(`{"typ":"JWT"}`) + "." + b64(`{"sub":"x"}`) + "." + sig, false, JWTClaims{}},
		{"payload not json", b64(`{"alg":"HS256"}`) + "." + b64(`hello world`) + "." + sig, false, JWTClaims{}},
		{"bad base64", "eyJ!!!." + b64(`{"a":1}`) + "." + sig, false, JWTClaims{}},
		{"jwe has five parts", b64(`{"alg":"RSA-OAEP"}`) + ".a.b.c.d", false, JWTClaims{}},
		{"two parts", b64(`{"alg":"HS256"}`) + "." + b64(`{}`), false, JWTClaims{}},
		{"truncated payload", b64(`{"alg":"HS256"}`) + "." + b64(`{"sub":"abc","exp":17`) + "." + sig,
			false, JWTClaims{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := DecodeJWT([]byte(tt.token))
			if ok != tt.ok {
				t.Fatalf("DecodeJWT(%s): got ok %v; want %v", tt.name, ok, tt.ok)
			}
			if ok && got != tt.claims {
				t.Errorf("DecodeJWT(%s): got %+v; want %+v", tt.name, got, tt.claims)
			}
		})
	}
}

func TestJWTClaimLength(t *testing.T) {
	long := strings.Repeat("i", 1000)
	tok := b64(`{"alg":"HS256"}`) + "." + b64(`{"iss":"`+long+`"}`) + ".sig"
	c, ok := DecodeJWT([]byte(tok))
	if !ok || len(c.Iss) != maxClaimLen {
		t.Errorf("DecodeJWT(long iss): got ok %v, len %d; want true, %d", ok, len(c.Iss), maxClaimLen)
	}
}
