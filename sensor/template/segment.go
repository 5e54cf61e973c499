package template

import "strings"

// Kind is what a path segment looks like.
type Kind uint8

// Segment kinds. KindLiteral segments stay in the template as they are;
// every other kind becomes a parameter of the type Kind.String names.
const (
	KindLiteral  Kind = iota
	KindInteger       // 4711
	KindUUID          // 8-4-4-4-12 hex, any version, or 32 plain hex
	KindObjectID      // 24 hex (MongoDB ObjectId)
	KindHex           // other hex ids of 8+ chars
	KindToken         // ULID, KSUID, prefixed ids, other high-entropy strings
	KindJWT           // header.payload.signature with a JSON header
	KindEmail         // someone@example.com
	KindPhone         // +4930123456
	KindCard          // a Luhn-valid payment card number
	KindDate          // 2024-01-31 outside a version position
	KindString        // opaque or encoded text that is not a word
)

var kindNames = [...]string{
	KindLiteral: "literal", KindInteger: "integer", KindUUID: "uuid",
	KindObjectID: "objectid", KindHex: "hex", KindToken: "token", KindJWT: "jwt",
	KindEmail: "email", KindPhone: "phone", KindCard: "card", KindDate: "date",
	KindString: "string",
}

// kindPlaceholders are the kind names in braces, for Placeholder.
var kindPlaceholders = func() (p [len(kindNames)]string) {
	for k, n := range kindNames {
		p[k] = "{" + n + "}"
	}
	return p
}()

// Placeholder returns the kind's name in braces, "{token}", a constant
// that stands in for a value that must not be echoed.
func (k Kind) Placeholder() string {
	if int(k) < len(kindPlaceholders) {
		return kindPlaceholders[k]
	}
	return "{string}"
}

// String returns the parameter type name: "integer", "uuid", ….
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "string"
}

// Sensitive reports whether a value of this kind is personal or payment
// data that should not appear in a URL at all.
func (k Kind) Sensitive() bool { return k == KindEmail || k == KindPhone || k == KindCard }

// Char classes, as a table so that classification is a few lookups per byte.
const (
	cDigit = 1 << iota
	cLower
	cUpper
	cHexLetter
	cB64  // '-' and '_' (base64url)
	cHex  // 0-9, a-f, A-F: so that ANDing a segment's classes tells "all hex"
	cWord // 0-9, a-z: the bytes of a lower-case version such as v2beta1
)

var class = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for _, c := range "abcdefABCDEF" {
		t[c] |= cHexLetter
	}
	for c := range 256 {
		if t[c]&(cDigit|cHexLetter) != 0 {
			t[c] |= cHex
		}
		if t[c]&(cDigit|cLower) != 0 {
			t[c] |= cWord
		}
	}
	t['-'], t['_'] = cB64, cB64
	return t
}()

// cNotSlash marks, in segClass, every byte but '/': a path scan ANDs the
// classes of four bytes at a time and learns from this bit alone whether a
// segment ended among them.
const cNotSlash = 1 << 7

// segClass is class with cNotSlash added.
var segClass = func() (t [256]uint8) {
	for c := range t {
		t[c] = class[c] | cNotSlash
	}
	t['/'] = class['/']
	return t
}()

// Classify returns the kind of one raw (not percent-decoded) path segment.
// versionPos says the segment sits where an API version would (first
// segment, or right after "api" or a version): an ISO date there is a
// version (/2024-01-01/charges), elsewhere a parameter.
func Classify(seg string, versionPos bool) Kind {
	n := len(seg)
	if n == 0 {
		return KindLiteral
	}

	var digits, lower, upper, hexLetters, b64, other, dots, dashes int
	at := -1
	for i := 0; i < n; i++ {
		c := seg[i]
		k := class[c]
		switch {
		case k&cDigit != 0:
			digits++
		case k&cLower != 0:
			lower++
		case k&cUpper != 0:
			upper++
		case k&cB64 != 0:
			b64++
			if c == '-' {
				dashes++
			}
		case c == '.':
			dots++
		case c == '@':
			if at < 0 {
				at = i
			}
			other++
		default:
			other++
		}
		if k&cHexLetter != 0 {
			hexLetters++
		}
	}
	letters := lower + upper

	// Pure digits: an id, unless it is a card number.
	if digits == n {
		if isCard(seg) {
			return KindCard
		}
		return KindInteger
	}
	// Phone: +, then digits with optional dashes.
	if seg[0] == '+' && n >= 9 && digits >= 8 && digits+dashes == n-1 {
		return KindPhone
	}
	if at > 0 || hasEncodedAt(seg) {
		if isEmail(seg, at) {
			return KindEmail
		}
	}
	if isDate(seg) {
		if versionPos {
			return KindLiteral
		}
		return KindDate
	}
	if isVersion(seg, digits, dots) {
		return KindLiteral
	}
	if n == 36 && isUUID(seg) {
		return KindUUID
	}
	if digits+hexLetters == n {
		switch {
		case n == 32:
			return KindUUID
		case n == 24:
			return KindObjectID
		case n >= 8 && digits > 0:
			return KindHex
		case n >= 12:
			return KindHex
		}
	}
	if dots == 2 && isJWT(seg) {
		return KindJWT
	}
	// File names stay literal (report.csv, openapi.json) unless the name
	// itself is an id: 9b161be3….jpg, 42.json.
	if dots >= 1 && isFileName(seg) {
		stem := seg[:strings.LastIndexByte(seg, '.')]
		if k := Classify(stem, false); k != KindLiteral && k != KindDate {
			return k
		}
		return KindLiteral
	}
	if other > 0 || dots > 0 {
		// Percent-encoding, spaces, colons and the like: not a word.
		if n > 1 && other > 0 && seg[0] != '$' && seg[0] != ':' {
			return KindString
		}
		if dots > 0 {
			return KindString
		}
		return KindLiteral
	}
	// Only letters, digits, '-' and '_' from here on.
	if digits == 0 {
		// Words, kebab or snake case, camelCase. Long mixed-case runs with
		// no separator are random (base62 without digits).
		if n > 24 && upper > 0 && lower > 0 && b64 == 0 {
			return KindToken
		}
		// Random base62 is about half upper case; camelCase names are mostly
		// lower case ("getUserProfileSettings": 3 of 22).
		if n >= 16 && upper >= 4 && lower >= 4 && upper*4 >= letters {
			return KindToken
		}
		if n > 40 {
			return KindString
		}
		return KindLiteral
	}
	// Slugs ("my-first-post-2024", "Senseo-Classic-16") are words and short
	// numbers joined by separators: literal here, cardinality may fold them.
	if b64 > 0 && slugLike(seg) {
		return KindLiteral
	}
	if n >= 26 && (n == 26 || n == 27) && b64 == 0 {
		return KindToken // ULID (26, Crockford base32), KSUID (27, base62)
	}
	if n >= 16 {
		return KindToken
	}
	// Short mixes of letters and digits: "oauth2", "s3", "v1beta1" are names;
	// "abc123", "a7f9k2" are ids.
	if digits >= 3 || (digits >= 2 && letters <= 2) {
		return KindString
	}
	return KindLiteral
}

// quickKind classifies the segments that dominate real paths (short
// integers, UUIDs, ObjectIDs, lower-case words and versions) without the
// counters and checks of Classify. ok is false when the segment needs
// Classify; when ok is true the kind is the one Classify returns
// (TestQuickKindAgrees holds the two together).
func quickKind(seg string) (k Kind, ok bool) {
	all := uint8(0xff)
	for i := 0; i < len(seg); i++ {
		all &= class[seg[i]]
	}
	return quickKindOf(seg, all)
}

// quickKindOf is quickKind for a segment whose byte classes, ANDed
// together, are all: the caller computes them while it looks for the end
// of the segment, so the bytes are read once.
func quickKindOf(seg string, all uint8) (k Kind, ok bool) {
	n := len(seg)
	if n == 0 || n > 36 {
		return KindLiteral, false
	}
	switch {
	case all&cDigit != 0:
		// Card numbers have 13 to 19 digits; shorter runs are plain ids.
		if n < 13 {
			return KindInteger, true
		}
	case all&cLower != 0:
		// Letters only: a word, unless long enough to be a hex id.
		if all&cHex == 0 || n < 8 {
			return KindLiteral, true
		}
	case all&cHex != 0 && n == 24:
		return KindObjectID, true
	case n == 36 && isUUID(seg):
		return KindUUID, true
	case all&cWord != 0 && seg[0] == 'v' && n <= 12 && class[seg[1]]&cDigit != 0:
		// v1, v2beta1: Classify finds no digit run, '@' or date before
		// its version test, so it returns what isVersion says.
		return KindLiteral, true
	}
	return KindLiteral, false
}

// slugLike reports whether every part of a '-' or '_' separated segment is
// a word or a number of at most 4 digits (a year, a count), so that no part
// looks random.
func slugLike(s string) bool {
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '-' && s[i] != '_' {
			continue
		}
		part := s[start:i]
		start = i + 1
		var d, lo, up int
		for j := 0; j < len(part); j++ {
			switch k := class[part[j]]; {
			case k&cDigit != 0:
				d++
			case k&cLower != 0:
				lo++
			case k&cUpper != 0:
				up++
			}
		}
		switch {
		case d == 0 && (len(part) < 16 || up*4 < lo):
		case d == len(part) && d <= 4:
		case d > 0 && d+lo+up == len(part) && len(part) <= 5 && d <= 2:
			// "v2", "p1", "x86": short names with a digit or two
		default:
			return false
		}
	}
	return true
}

func isCard(s string) bool {
	n := len(s)
	if n < 13 || n > 19 {
		return false
	}
	// Issuer prefixes (Visa, Mastercard, Amex, Discover, JCB, UnionPay, Diners)
	// keep long snowflake-style ids that merely pass Luhn from being flagged.
	switch s[0] {
	case '3', '4', '5', '6', '2':
	default:
		return false
	}
	sum := 0
	double := false
	for i := n - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

func hasEncodedAt(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '4' && s[i+2] == '0' {
			return true
		}
	}
	return false
}

// isEmail wants local@domain.tld with the '@' raw or as %40.
func isEmail(s string, at int) bool {
	skip := 1
	if at < 0 {
		for i := 0; i+2 < len(s); i++ {
			if s[i] == '%' && s[i+1] == '4' && s[i+2] == '0' {
				at, skip = i, 3
				break
			}
		}
	}
	if at <= 0 || at+skip >= len(s) {
		return false
	}
	domain := s[at+skip:]
	dot := -1
	for i := 0; i < len(domain); i++ {
		if domain[i] == '.' {
			dot = i
		}
	}
	return dot > 0 && dot < len(domain)-2
}

// isDate accepts YYYY-MM-DD with a plausible month and day.
func isDate(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if class[s[i]]&cDigit == 0 {
			return false
		}
	}
	m := (s[5]-'0')*10 + s[6] - '0'
	d := (s[8]-'0')*10 + s[9] - '0'
	return m >= 1 && m <= 12 && d >= 1 && d <= 31 && (s[0] == '1' || s[0] == '2')
}

// isVersion accepts v1, V2, v1beta1, v2alpha, 1.2, 1.2.3.
func isVersion(s string, digits, dots int) bool {
	if (s[0] == 'v' || s[0] == 'V') && len(s) >= 2 && len(s) <= 12 && class[s[1]]&cDigit != 0 {
		for i := 2; i < len(s); i++ {
			if class[s[i]]&(cDigit|cLower) == 0 {
				return false
			}
		}
		return true
	}
	if dots >= 1 && digits+dots == len(s) && len(s) <= 12 && s[0] != '.' &&
		s[len(s)-1] != '.' {
		return true
	}
	return false
}

// isUUID wants 8-4-4-4-12 hex digits in a 36-byte s. The dashes are
// tested first, so that most other 36-byte segments cost four loads.
func isUUID(s string) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	h := uint8(cHex)
	for i := 0; i < 8; i++ {
		h &= class[s[i]]
	}
	for i := 9; i < 13; i++ {
		h &= class[s[i]] & class[s[i+5]] & class[s[i+10]]
	}
	for i := 24; i < 36; i++ {
		h &= class[s[i]]
	}
	return h != 0
}

// isJWT wants three base64url parts, the first starting with "eyJ" (the
// encoding of `{"`).
func isJWT(s string) bool {
	if len(s) < 20 || s[0] != 'e' || s[1] != 'y' || s[2] != 'J' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && class[c] == 0 && c != '=' {
			return false
		}
	}
	return true
}

// isFileName wants name.ext with a short alphabetic extension and a name
// that is not itself an id.
func isFileName(s string) bool {
	dot := -1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || len(s)-dot-1 < 1 || len(s)-dot-1 > 5 || len(s) > 64 {
		return false
	}
	for i := dot + 1; i < len(s); i++ {
		if class[s[i]]&(cLower|cUpper|cDigit) == 0 {
			return false
		}
	}
	for i := 0; i < dot; i++ {
		c := s[i]
		if class[c] == 0 && c != '.' {
			return false
		}
	}
	return true
}
