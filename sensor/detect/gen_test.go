package detect

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Generators for obviously fake but shape-valid test values. Nothing here
// is a real credential or a real person's data: every value is built from a
// seeded random source at test time.

const (
	alnum    = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	hexLower = "0123456789abcdef"
	base32U  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64url   = alnum + "-_"
)

type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))} }

func (g *gen) str(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}

// mixed returns n characters from alphabet that include a digit, an upper
// and a lower case letter, like any real random key.
func (g *gen) mixed(n int, alphabet string) string {
	for {
		s := g.str(n, alphabet)
		if strings.ContainsAny(s, "0123456789") && strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") &&
			strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") {
			return s
		}
	}
}

func (g *gen) crcToken(prefix string) string {
	body := g.mixed(30, alnum)
	return prefix + string(AppendBase62CRC32([]byte(body), []byte(body)))
}

func (g *gen) digits(n int) string { return g.str(n, "0123456789") }

// card returns a Luhn-valid number of length n starting with iin.
func (g *gen) card(iin string, n int) string {
	d := []byte(iin + g.digits(n-len(iin)-1) + "0")
	for c := byte('0'); c <= '9'; c++ {
		d[n-1] = c
		if luhn(d) {
			break
		}
	}
	return string(d)
}

func groupCard(d string, sep string, sizes ...int) string {
	var parts []string
	for _, n := range sizes {
		parts = append(parts, d[:n])
		d = d[n:]
	}
	return strings.Join(parts, sep)
}

// iban returns a valid IBAN for country with a random numeric BBAN.
func (g *gen) iban(country string) string {
	n := int(ibanLengths[[2]byte{country[0], country[1]}])
	bban := g.digits(n - 4)
	// Check digits: 98 - (BBAN + country + "00") mod 97.
	rem := 0
	for _, c := range []byte(bban + country + "00") {
		if isDigit(c) {
			rem = (rem*10 + int(c-'0')) % 97
		} else {
			rem = (rem*100 + int(c-'A'+10)) % 97
		}
	}
	return fmt.Sprintf("%s%02d%s", country, 98-rem, bban)
}

func (g *gen) ssn() string {
	for {
		area := 1 + g.r.IntN(899)
		if area == 666 {
			continue
		}
		return fmt.Sprintf("%03d-%02d-%04d", area, 1+g.r.IntN(99), 1+g.r.IntN(9999))
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func (g *gen) jwt(claims string) string {
	return b64(`{"alg":"HS256","typ":"JWT"}`) + "." + b64(claims) + "." + g.str(43, b64url)
}

func (g *gen) uuid() string {
	s := g.str(32, hexLower)
	return s[:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:]
}
