package detect

import (
	"math"
	"net/netip"
)

// shannon returns the Shannon entropy of b in bits per byte.
func shannon(b []byte) float64 {
	if len(b) == 0 {
		return 0
	}
	var counts [256]uint16
	for _, c := range b {
		counts[c]++
	}
	n := float64(len(b))
	var h float64
	for _, k := range counts {
		if k == 0 {
			continue
		}
		p := float64(k) / n
		h -= p * math.Log2(p)
	}
	return h
}

// Generic secret thresholds: a value under a credential-like key counts when
// it is long, made of token characters, mixes character classes and is
// random-looking. 3.5 bits per byte keeps lower-case hex of 32+ characters
// (about 3.7–4.0) and rejects words and repeated fillers.
const (
	genericMinLen     = 16
	genericMaxLen     = 4096
	genericMinEntropy = 3.5

	genericMinEntropyHex = 3.0
)

// validGenericSecret applies the thresholds above.
func validGenericSecret(v []byte) bool {
	if len(v) < genericMinLen || len(v) > genericMaxLen {
		return false
	}
	var lo, up, dg bool
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z':
			lo = true
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= '0' && c <= '9':
			dg = true
		case csTokenChar[c]:
		default:
			return false // spaces, quotes, URLs with ':' …
		}
	}
	if b2i(lo)+b2i(up)+b2i(dg) < 2 {
		return false
	}
	if looksLikeDate(v) {
		return false
	}
	// Short samples understate entropy, and hex draws from 16 symbols only:
	// a 40-character hex token measures about 3.6 bits. Hex gets its own,
	// lower bar, with a length that excludes short hex ids.
	if isHexString(v) {
		return len(v) >= 32 && shannon(v) >= genericMinEntropyHex
	}
	return shannon(v) >= genericMinEntropy
}

func isHexString(v []byte) bool {
	for _, c := range v {
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validPassword accepts what a login form's password field holds: six or
// more characters that are not a mask ("********") and not a boolean.
func validPassword(v []byte) bool {
	if len(v) < 6 || len(v) > 256 {
		return false
	}
	same := true
	for _, c := range v[1:] {
		if c != v[0] {
			same = false
			break
		}
	}
	if same {
		return false
	}
	switch string(v) {
	case "true", "false", "null", "undefined", "redacted", "[REDACTED]", "[FILTERED]":
		return false
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isAlpha(c byte) bool { return isUpper(c) || isLower(c) }
func lower(c byte) byte {
	if isUpper(c) {
		return c + 'a' - 'A'
	}
	return c
}

// looksLikeDate reports a leading YYYY-MM-DD or YYYY/MM/DD.
func looksLikeDate(v []byte) bool {
	return len(v) >= 10 && isDigit(v[0]) && isDigit(v[1]) && isDigit(v[2]) && isDigit(v[3]) &&
		(v[4] == '-' || v[4] == '/') && isDigit(v[5]) && isDigit(v[6]) && v[7] == v[4] &&
		isDigit(v[8]) && isDigit(v[9])
}

// --- email ---

// emailLocal and emailDomain are the characters allowed on either side of
// '@': the common subset of RFC 5322's dot-atom. Leaving out '=', '/' and
// '&' keeps "email=a@b.c" in a query from reading as one address.
var (
	emailLocal  = makeCharset("a-z", "A-Z", "0-9", "._%+-")
	emailDomain = makeCharset("a-z", "A-Z", "0-9", ".-")
)

// findEmail looks for an address around the '@' at w[at]. It returns the
// span or (-1, -1).
func findEmail(w []byte, at int) (int, int) {
	s := at
	for s > 0 && emailLocal[w[s-1]] && at-s < 64 {
		s--
	}
	// Leading punctuation is not part of the address ("<a@b.c>", "'a@b.c'").
	for s < at && !isAlpha(w[s]) && !isDigit(w[s]) {
		s++
	}
	e := at + 1
	for e < len(w) && emailDomain[w[e]] && e-at < 254 {
		e++
	}
	for e > at+1 && (w[e-1] == '.' || w[e-1] == '-') {
		e--
	}
	if s == at || e <= at+1 || !validEmail(w[s:e]) {
		return -1, -1
	}
	return s, e
}

// validEmail checks a local@domain string: a non-empty local part without
// leading, trailing or doubled dots; a domain of two or more labels of 1–63
// letters, digits and inner hyphens; and a top-level domain from the table.
func validEmail(v []byte) bool {
	at := indexByte(v, '@')
	if at <= 0 || at > 64 || at != lastIndexByte(v, '@') {
		return false
	}
	local, domain := v[:at], v[at+1:]
	if local[0] == '.' || local[len(local)-1] == '.' || hasDoubleDot(local) {
		return false
	}
	if len(domain) < 4 || len(domain) > 253 || hasDoubleDot(domain) {
		return false
	}
	labels, start := 0, 0
	for i := 0; i <= len(domain); i++ {
		if i < len(domain) && domain[i] != '.' {
			continue
		}
		l := domain[start:i]
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		labels++
		start = i + 1
	}
	if labels < 2 {
		return false
	}
	return knownTLD(domain[lastIndexByte(domain, '.')+1:])
}

func hasDoubleDot(b []byte) bool {
	for i := 1; i < len(b); i++ {
		if b[i] == '.' && b[i-1] == '.' {
			return true
		}
	}
	return false
}

// genericTLDs are the generic top-level domains common in real addresses.
// File extensions ("png", "js", "css", "json") are deliberately absent: that
// is what keeps "logo@2x.png" out.
var genericTLDs = map[string]bool{
	"com": true, "net": true, "org": true, "edu": true, "gov": true, "mil": true, "int": true,
	"info": true, "biz": true, "name": true, "pro": true, "aero": true, "coop": true,
	"museum": true, "mobi": true, "asia": true, "tel": true, "travel": true, "jobs": true,
	"app": true, "dev": true, "io": true, "ai": true, "co": true, "me": true, "tv": true,
	"cloud": true, "tech": true, "online": true, "site": true, "store": true, "shop": true,
	"xyz": true, "top": true, "email": true, "mail": true, "company": true, "digital": true,
	"agency": true, "solutions": true, "services": true, "systems": true, "network": true,
	"group": true, "global": true, "world": true, "life": true, "live": true, "news": true,
	"blog": true, "media": true, "studio": true, "design": true, "software": true,
	"finance": true, "bank": true, "health": true, "care": true, "law": true, "legal": true,
	"consulting": true, "work": true, "team": true, "zone": true, "space": true, "one": true,
	"academy": true, "school": true, "university": true, "club": true, "family": true,
	"google": true, "amazon": true, "apple": true, "microsoft": true, "example": true,
	"test": true, "invalid": true, "localhost": true, "local": true, "internal": true,
	"onion": true, "berlin": true, "london": true, "nyc": true, "paris": true, "tokyo": true,
}

// ccTLDs holds the ISO 3166-1 alpha-2 country codes used as top-level
// domains (plus uk, eu and ac), two letters each, concatenated.
const ccTLDs = "" +
	"acadaeafagaialamaoaqarasatauawaxazbabbbdbebfbgbhbibjbmbnbobrbsbtbwbybzcacccdcfcgch" +
	"cickclcmcncocrcucvcwcxcycz" + "dedjdkdmdodz" + "eceeegereseteu" + "fifjfkfmfofr" +
	"gagbgdgegfggghgiglgmgngpgqgrgsgtgugwgy" + "hkhmhnhrhthu" + "idieiliminioiqirisit" +
	"jejmjojp" + "kekgkhkikmknkpkrkwkykz" + "lalblclilklrlsltlulvly" +
	"mamcmdmemfmgmhmkmlmmmnmompmqmrmsmtmumvmwmxmymz" + "nancnenfngninlnonpnrnunz" + "om" +
	"papepfpgphpkplpmpnprpsptpwpy" + "qa" + "rerorsrurw" +
	"sasbscsdsesgshsisjskslsmsnsosrssstsvsxsysz" + "tctdtftgthtjtktltmtntotrtttvtwtz" +
	"uaugukusuyuz" + "vavcvevgvivnvu" + "wfws" + "yeyt" + "zazmzw"

var ccTLDSet = func() map[[2]byte]bool {
	m := make(map[[2]byte]bool, len(ccTLDs)/2)
	for i := 0; i+1 < len(ccTLDs); i += 2 {
		m[[2]byte{ccTLDs[i], ccTLDs[i+1]}] = true
	}
	return m
}()

func knownTLD(t []byte) bool {
	if len(t) < 2 || len(t) > 24 {
		return false
	}
	var buf [24]byte
	for i, c := range t {
		if !isAlpha(c) {
			return false
		}
		buf[i] = lower(c)
	}
	if len(t) == 2 {
		return ccTLDSet[[2]byte{buf[0], buf[1]}]
	}
	return genericTLDs[string(buf[:len(t)])]
}

// --- payment cards ---

// luhn reports whether the digits pass the Luhn check.
func luhn(d []byte) bool {
	sum, alt := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if alt {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		alt = !alt
	}
	return sum%10 == 0
}

// cardIssuer checks the issuer identification number against the published
// ranges of the major networks and the lengths each one issues.
func cardIssuer(d []byte) bool {
	n := len(d)
	p := func(k int) int { // the first k digits as a number
		v := 0
		for i := 0; i < k && i < n; i++ {
			v = v*10 + int(d[i]-'0')
		}
		return v
	}
	switch {
	case d[0] == '4': // Visa
		return n == 13 || n == 16 || n == 19
	case p(2) >= 51 && p(2) <= 55, p(4) >= 2221 && p(4) <= 2720: // Mastercard
		return n == 16
	case p(2) == 34 || p(2) == 37: // American Express
		return n == 15
	case p(4) == 6011, p(3) >= 644 && p(3) <= 649, p(2) == 65: // Discover
		return n >= 16 && n <= 19
	case p(4) >= 3528 && p(4) <= 3589: // JCB
		return n >= 16 && n <= 19
	case p(3) >= 300 && p(3) <= 305, p(2) == 36, p(2) == 38, p(2) == 39: // Diners Club
		return n >= 14 && n <= 19
	case p(2) == 62: // UnionPay
		return n >= 16 && n <= 19
	case p(2) == 50, p(2) >= 56 && p(2) <= 58, p(2) == 67: // Maestro
		return n >= 12 && n <= 19
	}
	return false
}

// validCard checks 12–19 digits, issuer range and Luhn.
func validCard(d []byte) bool {
	if len(d) < 12 || len(d) > 19 {
		return false
	}
	for _, c := range d {
		if !isDigit(c) {
			return false
		}
	}
	return cardIssuer(d) && luhn(d)
}

// cardGroups reports whether the group lengths of a separated number are a
// layout printed on cards: 4-4-4-4, 4-4-4-4-3, 4-6-5 (Amex), 4-6-4 (Diners),
// 4-4-4-1..4 (13–16 digits, Visa and Maestro).
func cardGroups(g []int) bool {
	switch len(g) {
	case 3:
		return g[0] == 4 && g[1] == 6 && (g[2] == 5 || g[2] == 4)
	case 4:
		return g[0] == 4 && g[1] == 4 && g[2] == 4 && g[3] >= 1 && g[3] <= 4
	case 5:
		return g[0] == 4 && g[1] == 4 && g[2] == 4 && g[3] == 4 && g[4] == 3
	}
	return false
}

// --- IBAN ---

// ibanLengths maps a country code to the length of its IBANs (SWIFT IBAN
// registry).
var ibanLengths = map[[2]byte]uint8{
	{'A', 'D'}: 24, {'A', 'E'}: 23, {'A', 'L'}: 28, {'A', 'T'}: 20, {'A', 'Z'}: 28,
	{'B', 'A'}: 20, {'B', 'E'}: 16, {'B', 'G'}: 22, {'B', 'H'}: 22, {'B', 'R'}: 29,
	{'B', 'Y'}: 28, {'C', 'H'}: 21, {'C', 'R'}: 22, {'C', 'Y'}: 28, {'C', 'Z'}: 24,
	{'D', 'E'}: 22, {'D', 'K'}: 18, {'D', 'O'}: 28, {'E', 'E'}: 20, {'E', 'G'}: 29,
	{'E', 'S'}: 24, {'F', 'I'}: 18, {'F', 'O'}: 18, {'F', 'R'}: 27, {'G', 'B'}: 22,
	{'G', 'E'}: 22, {'G', 'I'}: 23, {'G', 'L'}: 18, {'G', 'R'}: 27, {'G', 'T'}: 28,
	{'H', 'R'}: 21, {'H', 'U'}: 28, {'I', 'E'}: 22, {'I', 'L'}: 23, {'I', 'Q'}: 23,
	{'I', 'S'}: 26, {'I', 'T'}: 27, {'J', 'O'}: 30, {'K', 'W'}: 30, {'K', 'Z'}: 20,
	{'L', 'B'}: 28, {'L', 'C'}: 32, {'L', 'I'}: 21, {'L', 'T'}: 20, {'L', 'U'}: 20,
	{'L', 'V'}: 21, {'L', 'Y'}: 25, {'M', 'C'}: 27, {'M', 'D'}: 24, {'M', 'E'}: 22,
	{'M', 'K'}: 19, {'M', 'R'}: 27, {'M', 'T'}: 31, {'M', 'U'}: 30, {'N', 'L'}: 18,
	{'N', 'O'}: 15, {'P', 'K'}: 24, {'P', 'L'}: 28, {'P', 'S'}: 29, {'P', 'T'}: 25,
	{'Q', 'A'}: 29, {'R', 'O'}: 24, {'R', 'S'}: 22, {'S', 'A'}: 24, {'S', 'C'}: 31,
	{'S', 'E'}: 24, {'S', 'I'}: 19, {'S', 'K'}: 24, {'S', 'M'}: 27, {'S', 'T'}: 25,
	{'S', 'V'}: 28, {'T', 'L'}: 23, {'T', 'N'}: 24, {'T', 'R'}: 26, {'U', 'A'}: 29,
	{'V', 'A'}: 22, {'V', 'G'}: 24, {'X', 'K'}: 20,
}

// validIBAN checks an IBAN without spaces: known country, its length, upper
// case alphanumerics, and the ISO 7064 mod 97 check.
func validIBAN(v []byte) bool {
	if len(v) < 15 || len(v) > 34 || !isUpper(v[0]) || !isUpper(v[1]) ||
		!isDigit(v[2]) || !isDigit(v[3]) {
		return false
	}
	if n, ok := ibanLengths[[2]byte{v[0], v[1]}]; !ok || int(n) != len(v) {
		return false
	}
	// Move the first four characters to the end and read letters as
	// 10..35; fold the remainder digit by digit so nothing overflows.
	rem := 0
	for i := 0; i < len(v); i++ {
		c := v[(i+4)%len(v)]
		switch {
		case isDigit(c):
			rem = (rem*10 + int(c-'0')) % 97
		case isUpper(c):
			rem = (rem*100 + int(c-'A'+10)) % 97
		default:
			return false
		}
	}
	return rem == 1
}

// --- US SSN ---

// validSSN checks nine digits against the ranges the SSA never issues: area
// 000, 666 and 900–999, group 00 and serial 0000.
func validSSN(d []byte) bool {
	if len(d) != 9 {
		return false
	}
	for _, c := range d {
		if !isDigit(c) {
			return false
		}
	}
	area := int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if area == 0 || area == 666 || area >= 900 {
		return false
	}
	if d[3] == '0' && d[4] == '0' {
		return false
	}
	return string(d[5:]) != "0000"
}

// dashedSSN checks ddd-dd-dddd and copies the digits into d.
func dashedSSN(w []byte, d *[9]byte) bool {
	if len(w) != 11 || w[3] != '-' || w[6] != '-' {
		return false
	}
	n := 0
	for i, c := range w {
		if i == 3 || i == 6 {
			continue
		}
		if !isDigit(c) {
			return false
		}
		d[n] = c
		n++
	}
	return validSSN(d[:])
}

// --- phone numbers ---

// countryCodes are the E.164 country calling codes in use: two-digit codes
// as they are, three-digit codes by their first two digits and an 'x' (every
// code in zones 21x, 22x, … is allocated or reserved for a country, so the
// third digit adds little). The one-digit codes, 1 and 7, are checked in
// validE164.
var countryCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{
		"20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45",
		"46", "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61",
		"62", "63", "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94",
		"95", "98",
	} {
		m[c] = true
	}
	for _, c := range []string{
		"21", "22", "23", "24", "25", "26", "29", "35", "37", "38", "42", "50", "59", "67",
		"68", "69", "85", "87", "88", "96", "97", "99",
	} {
		m[c+"x"] = true
	}
	return m
}()

// validE164 checks digits that follow a '+': a country code in use and 9 to
// 15 digits in total (exactly 11 for +1 and +7).
func validE164(d []byte) bool {
	if len(d) < 8 || len(d) > 15 || d[0] == '0' {
		return false
	}
	// +1 (NANP) and +7 numbers have exactly ten national digits; that
	// rules out "+1234567"-style counters and diffs.
	if d[0] == '1' || d[0] == '7' {
		return len(d) == 11
	}
	if len(d) < 9 {
		return false
	}
	if countryCodes[string(d[:2])] {
		return true
	}
	var k [3]byte
	k[0], k[1], k[2] = d[0], d[1], 'x'
	return countryCodes[string(k[:])]
}

// phoneDigits collects the digits of a phone-shaped value: digits and the
// separators people type (space, '-', '.', '(', ')'), an optional leading
// '+', nothing else. It returns the digits, whether '+' led, and ok.
func phoneDigits(v []byte, buf *[20]byte) (d []byte, plus, ok bool) {
	if len(v) == 0 || len(v) > 24 {
		return nil, false, false
	}
	i := 0
	if v[0] == '+' {
		plus = true
		i = 1
	}
	n, seps := 0, 0
	for ; i < len(v); i++ {
		c := v[i]
		switch {
		case isDigit(c):
			if n == len(buf) {
				return nil, false, false
			}
			buf[n] = c
			n++
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')':
			seps++
			if seps > 6 {
				return nil, false, false
			}
		default:
			return nil, false, false
		}
	}
	return buf[:n], plus, true
}

// validPhone accepts E.164 with '+', or, under a phone key, a national
// number of 7–15 digits (a trunk prefix 0 allowed) or an international one
// written with 00.
func validPhone(v []byte, keyed bool) bool {
	var buf [20]byte
	d, plus, ok := phoneDigits(v, &buf)
	if !ok {
		return false
	}
	if plus {
		return validE164(d)
	}
	if !keyed {
		return false
	}
	if len(d) > 4 && d[0] == '0' && d[1] == '0' {
		return validE164(d[2:])
	}
	if len(d) < 7 || len(d) > 15 {
		return false
	}
	// A run of one digit ("0000000") is a placeholder, not a number.
	for _, c := range d[1:] {
		if c != d[0] {
			return true
		}
	}
	return false
}

// --- addresses, names, dates, places ---

// validIP accepts an IPv4 dotted quad or an IPv6 address. Prefixed words
// such as "v1.2.3.4" never get here because the caller passes whole words.
func validIP(v []byte) bool {
	if len(v) < 7 || len(v) > 45 {
		return false
	}
	dots, colons := 0, 0
	for _, c := range v {
		switch {
		case c == '.':
			dots++
		case c == ':':
			colons++
		case isDigit(c), (c >= 'a' && c <= 'f'), (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	if !(dots == 3 && colons == 0) && colons < 2 {
		return false
	}
	_, err := netip.ParseAddr(string(v))
	return err == nil
}

// validPersonName accepts 1–4 words of letters (any script), with inner
// hyphens, apostrophes and dots, 2–80 bytes, no digits.
func validPersonName(v []byte) bool {
	if len(v) < 2 || len(v) > 80 {
		return false
	}
	words, inWord, letters := 0, false, 0
	for _, c := range v {
		switch {
		case isAlpha(c) || c >= 0x80:
			letters++
			if !inWord {
				words++
				inWord = true
			}
		case c == ' ':
			inWord = false
		case c == '-' || c == '\'' || c == '.':
		default:
			return false
		}
	}
	return letters >= 2 && words >= 1 && words <= 4
}

// validStreet accepts text that reads like a street address: 5–200 bytes,
// letters and at least one digit (a house number or postcode), words
// separated by spaces, and none of '@', "://" or a bare IP.
func validStreet(v []byte) bool {
	if len(v) < 5 || len(v) > 200 {
		return false
	}
	letters, digits, spaces := 0, 0, 0
	for _, c := range v {
		switch {
		case isAlpha(c) || c >= 0x80:
			letters++
		case isDigit(c):
			digits++
		case c == ' ':
			spaces++
		case c == '@' || c == '<' || c == '>' || c == '{' || c == '}' || c == '/' && spaces == 0:
			return false
		}
	}
	return letters >= 3 && digits >= 1 && spaces >= 1
}

// validDate accepts a calendar date with a plausible birth year
// (1900–2030): YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY,
// or YYYYMMDD, optionally followed by a time.
func validDate(v []byte) bool {
	if len(v) < 8 {
		return false
	}
	num := func(b []byte) int {
		n := 0
		for _, c := range b {
			if !isDigit(c) {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	var y, m, d int
	switch {
	case len(v) >= 10 && (v[4] == '-' || v[4] == '/') && v[7] == v[4]:
		y, m, d = num(v[:4]), num(v[5:7]), num(v[8:10])
	case len(v) >= 10 && (v[2] == '/' || v[2] == '.' || v[2] == '-') && v[5] == v[2]:
		a, b := num(v[:2]), num(v[3:5])
		y = num(v[6:10])
		d, m = a, b
		if b > 12 { // MM/DD/YYYY
			d, m = b, a
		}
	case len(v) == 8:
		y, m, d = num(v[:4]), num(v[4:6]), num(v[6:8])
	default:
		return false
	}
	return y >= 1900 && y <= 2030 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// validLatLon accepts a decimal number within ±180 with a fractional part
// (integers under "lat" are more often enum values than coordinates).
func validLatLon(v []byte) bool {
	if len(v) < 3 || len(v) > 24 {
		return false
	}
	i, dot := 0, -1
	if v[0] == '-' || v[0] == '+' {
		i = 1
	}
	intPart := 0
	for ; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' && dot < 0:
			dot = i
		case isDigit(c):
			if dot < 0 {
				intPart = intPart*10 + int(c-'0')
				if intPart > 180 {
					return false
				}
			}
		default:
			return false
		}
	}
	return dot > 0 && dot < len(v)-1
}

// validPlace accepts a short place name or code: 2–60 bytes of letters,
// digits (postcodes), spaces, hyphens, dots and apostrophes, at least two of
// them letters or digits.
func validPlace(v []byte) bool {
	if len(v) < 2 || len(v) > 60 {
		return false
	}
	n := 0
	for _, c := range v {
		switch {
		case isAlpha(c) || isDigit(c) || c >= 0x80:
			n++
		case c == ' ' || c == '-' || c == '.' || c == '\'' || c == ',':
		default:
			return false
		}
	}
	return n >= 2
}

// validIdentifier accepts an id-shaped value: 1–128 bytes of letters,
// digits and - _ . : | @, not a boolean, null or zero.
func validIdentifier(v []byte) bool {
	if len(v) == 0 || len(v) > 128 {
		return false
	}
	switch string(v) {
	case "true", "false", "null", "0", "-1", "undefined", "none", "None", "nil", "anonymous":
		return false
	}
	for _, c := range v {
		if !(isAlpha(c) || isDigit(c) || c == '-' || c == '_' || c == '.' || c == ':' ||
			c == '|' || c == '@') {
			return false
		}
	}
	return true
}
