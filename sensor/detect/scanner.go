package detect

import (
	"encoding/base64"
	"strings"
	"unsafe"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/secret"
)

// maxValueLen bounds the bytes of one value (a header, a query value, a
// JSON string) that detectors look at; the rest is ignored. Bodies are
// already bounded by the parser's prefix limit.
const maxValueLen = 64 << 10

// Scanner runs every detector over exchanges or parts of them. It keeps
// scratch buffers between calls, so one Scanner per worker goroutine is the
// intended use: it is not safe for concurrent use. The *Match passed to a
// callback is reused; copy what must outlive the call.
type Scanner struct {
	fp *secret.Hasher
	m  Match

	// kinds caches classifyKey by raw key name, and names interns the key
	// strings matches carry: APIs repeat a small set of keys, and both
	// lookups (m[string(b)]) cost no allocation. Each is reset when full.
	kinds    map[string]keyEntry
	names    map[string]string
	previews map[string]string
	pv       []byte // preview scratch
	// recent holds keys just classified, by a cheap hash of their
	// length and end bytes: a JSON body repeats the same few keys in
	// every element, and comparing one string costs less than hashing it.
	recent [64]keyEntry

	jwt    jwtDecoder
	claims JWTClaims

	val  []byte // decoded value scratch
	key2 []byte // decoded key scratch
	alt  []byte // second value scratch (spaced IBAN, basic auth)

	cardDigits [19]byte // the digits of a grouped card number, for cards

	// JSON key context per depth: the key last seen in the object at that
	// depth, the key that named the container, whether it is an object, and
	// whether the object's next string is a key; idle says whether the
	// values at that depth sit under a key that keyed ignores.
	curKey  [MaxJSONDepth + 1][2]int
	curKind [MaxJSONDepth + 1]keyKind
	ctxKey  [MaxJSONDepth + 1][2]int
	ctxKind [MaxJSONDepth + 1]keyKind
	isObj   [MaxJSONDepth + 1]bool
	wantKey [MaxJSONDepth + 1]bool
	idle    [MaxJSONDepth + 1]bool
}

// NewScanner returns a Scanner whose fingerprints are keyed with key.
func NewScanner(key secret.Key) *Scanner {
	return &Scanner{
		fp:       key.Hasher(),
		kinds:    make(map[string]keyEntry),
		names:    make(map[string]string),
		previews: make(map[string]string),
		jwt:      jwtDecoder{claims: make(map[string]string)},
		val:      make([]byte, 0, 256),
		alt:      make([]byte, 0, 128),
	}
}

// scanCtx describes where the value being scanned came from.
type scanCtx struct {
	pos    Position
	dir    Direction
	key    []byte
	kind   keyKind
	parent keyKind
	// base is the offset of the value within the scanned part. When the
	// value was decoded, encoded is set and every match spans
	// [base, base+encLen).
	base    int
	encoded bool
	encLen  int
	fn      func(*Match)
	// found holds the class bits already reported for this value.
	found uint64
}

var classBit = func() map[string]uint64 {
	m := make(map[string]uint64, len(classes))
	i := 0
	for _, c := range Classes() {
		m[c] = 1 << i
		i++
	}
	return m
}()

// credentialBits has the bit of every credential class set.
var credentialBits = func() uint64 {
	var b uint64
	for c, info := range classes {
		if info.Category == CatCredential {
			b |= classBit[c]
		}
	}
	return b
}()

func (c *scanCtx) has(class string) bool { return c.found&classBit[class] != 0 }

// emit reports one match of class for value, found at v[start:end].
func (s *Scanner) emit(c *scanCtx, class string, start, end int, value []byte) {
	c.found |= classBit[class]
	info := classes[class]
	m := &s.m
	*m = Match{
		Class:       class,
		Category:    info.Category,
		Sensitivity: info.Sensitivity,
		Vendor:      info.Vendor,
		Position:    c.pos,
		Direction:   c.dir,
		Fingerprint: s.fp.Fingerprint(class, value),
		Preview:     s.preview(class, value),
	}
	if len(c.key) > 0 && plausibleKey(c.key) {
		m.Key = s.name(c.key)
	}
	if c.encoded {
		m.Start, m.End = c.base, c.base+c.encLen
	} else {
		m.Start, m.End = c.base+start, c.base+end
	}
	if class == ClassJWT {
		m.JWT = &s.claims
	}
	c.fn(m)
}

// maxCached bounds the key and preview caches.
const maxCached = 4096

// preview is secret.Preview, interned: previews are a few characters, and
// the same ones come back (a vendor prefix, "Jane…"), so the lookup saves
// an allocation per match.
func (s *Scanner) preview(class string, value []byte) string {
	s.pv = secret.AppendPreview(s.pv[:0], class, value)
	if p, ok := s.previews[string(s.pv)]; ok {
		return p
	}
	if len(s.previews) >= maxCached {
		clear(s.previews)
	}
	p := string(s.pv)
	s.previews[p] = p
	return p
}

// keyEntry is a key and its kind. The string is the one the kinds map holds
// it under, so that filling a recent slot allocates nothing.
type keyEntry struct {
	name string
	kind keyKind
}

// kindOf is classifyKey behind the caches.
func (s *Scanner) kindOf(key []byte) keyKind {
	if len(key) == 0 {
		return keyNone
	}
	slot := &s.recent[(len(key)*5^int(key[0])^int(key[len(key)-1])<<1)&(len(s.recent)-1)]
	if slot.name == string(key) {
		return slot.kind
	}
	if k, ok := s.kinds[string(key)]; ok {
		*slot = k
		return k.kind
	}
	k := classifyKey(key)
	if len(key) <= maxKeyLen {
		if len(s.kinds) >= maxCached {
			clear(s.kinds)
		}
		n := keyEntry{string(key), k}
		s.kinds[n.name] = n
		*slot = n
	}
	return k
}

// plausibleKey reports whether a key reads like a field name rather than
// data. JSON objects are sometimes keyed by the data itself ({"jane@…": …}),
// and such a key must not travel in Match.Key: it needs a letter, at most
// maxKeyLen bytes of [A-Za-z0-9_.$:-], no '@' and no run of 6 digits.
func plausibleKey(k []byte) bool {
	if len(k) > maxKeyLen {
		return false
	}
	letter, run := false, 0
	for _, c := range k {
		switch {
		case isAlpha(c):
			letter, run = true, 0
		case isDigit(c):
			run++
			if run >= 6 {
				return false
			}
		case c == '_' || c == '-' || c == '.' || c == '$' || c == ':':
			run = 0
		default:
			return false
		}
	}
	return letter && !validGenericSecret(k)
}

// name interns a key name.
func (s *Scanner) name(key []byte) string {
	if n, ok := s.names[string(key)]; ok {
		return n
	}
	if len(s.names) >= maxCached {
		clear(s.names)
	}
	n := string(key)
	s.names[n] = n
	return n
}

// ScanValue runs the detectors over one value that sat under key (nil for
// none) at pos in the given direction. Offsets in matches are relative to
// value.
func (s *Scanner) ScanValue(pos Position, dir Direction, key, value []byte, fn func(*Match)) {
	c := scanCtx{pos: pos, dir: dir, key: key, kind: s.kindOf(key), fn: fn}
	s.scanValue(&c, value)
}

func (s *Scanner) scanValue(c *scanCtx, v []byte) {
	if len(v) > maxValueLen {
		v = v[:maxValueLen]
	}
	lead := 0
	for lead < len(v) && isSpace(v[lead]) {
		lead++
	}
	v = v[lead:]
	for len(v) > 0 && isSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	if len(v) == 0 {
		return
	}
	base := c.base
	if !c.encoded {
		c.base += lead
	}
	c.found = 0
	if !inertShape(v) {
		s.shapes(c, v)
	}
	if c.kind != keyNone {
		s.keyed(c, v)
	}
	c.base = base
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// keyed runs the detectors that need a telling key name.
func (s *Scanner) keyed(c *scanCtx, v []byte) {
	n := len(v)
	switch c.kind {
	case keySecret:
		// A stored Authorization value ("Bearer abc…") under a
		// credential key: judge the token, report the whole value.
		tok := v
		if len(v) > 7 && asciiEqualFold(v[:7], "bearer ") {
			tok = v[7:]
		}
		if c.found&credentialBits == 0 && validGenericSecret(tok) {
			s.emit(c, ClassGenericSecret, 0, n, v)
		}
	case keyPassword:
		if c.found&credentialBits == 0 && validPassword(v) {
			s.emit(c, ClassGenericSecret, 0, n, v)
		}
	case keyEmail:
		if !c.has(ClassEmail) && validEmail(v) {
			s.emit(c, ClassEmail, 0, n, v)
		}
	case keyPhone:
		if !c.has(ClassPhone) && validPhone(v, true) {
			s.emit(c, ClassPhone, 0, n, v)
		}
	case keyCard:
		if !c.has(ClassPaymentCard) {
			if d := s.stripSeps(v, " -"); validCard(d) {
				s.emit(c, ClassPaymentCard, 0, n, d)
			}
		}
	case keySSN:
		var d [9]byte
		if !c.has(ClassUSSSN) && (validSSN(v) || dashedSSN(v, &d)) {
			s.emit(c, ClassUSSSN, 0, n, v)
		}
	case keyIBAN:
		if !c.has(ClassIBAN) {
			if d := s.stripSeps(v, " "); validIBAN(d) {
				s.emit(c, ClassIBAN, 0, n, d)
			}
		}
	case keyIP:
		if c.pos != PosHeader && !c.has(ClassIPAddress) && validIP(v) {
			s.emit(c, ClassIPAddress, 0, n, v)
		}
	case keyPersonName:
		if validPersonName(v) {
			s.emit(c, ClassPersonName, 0, n, v)
		}
	case keyName:
		if c.parent == keyPerson && validPersonName(v) {
			s.emit(c, ClassPersonName, 0, n, v)
		}
	case keyAddress:
		if validStreet(v) && !validIP(v) {
			s.emit(c, ClassStreetAddress, 0, n, v)
		}
	case keyDOB:
		if validDate(v) {
			s.emit(c, ClassDateOfBirth, 0, n, v)
		}
	case keyID:
		if c.parent == keyPerson && validIdentifier(v) {
			s.emit(c, ClassUserID, 0, n, v)
		}
	case keyUserID:
		if validIdentifier(v) {
			s.emit(c, ClassUserID, 0, n, v)
		}
	case keyAccountID:
		if validIdentifier(v) {
			s.emit(c, ClassAccountID, 0, n, v)
		}
	case keyOrgID:
		if validIdentifier(v) {
			s.emit(c, ClassOrgID, 0, n, v)
		}
	case keyLatLon:
		if validLatLon(v) {
			s.emit(c, ClassGeoLocation, 0, n, v)
		}
	case keyPlace:
		if validPlace(v) {
			s.emit(c, ClassGeoLocation, 0, n, v)
		}
	}
}

// stripSeps copies v without the bytes in seps into s.alt.
func (s *Scanner) stripSeps(v []byte, seps string) []byte {
	s.alt = s.alt[:0]
	for _, b := range v {
		if strings.IndexByte(seps, b) < 0 {
			s.alt = append(s.alt, b)
		}
	}
	return s.alt
}

// wordSep splits values into words. Characters that occur inside tokens,
// addresses and URLs ('-', '_', '.', '@', '+', '/', '=', ':', '%', '~') are
// not separators; the vendor matcher looks inside words for them.
var wordSep = func() (t [256]bool) {
	for _, c := range []byte(" \t\r\n\"',;<>()[]{}\\|`&?#!*^$") {
		t[c] = true
	}
	return t
}()

// inertShape reports values that no shape detector can match, so that the
// common JSON numbers ("qty": 2, "price": 19.99), lower-case words
// ("status": "created") and lower-case hex or base-36 ids ("9f86d081") skip
// the word and card scans. A number with at most one dot has no separators
// (card groups, SSN dashes), no '+' (phone), too few dots for an IPv4
// address, and no vendor prefix starts with a digit. Lower-case letters and
// digits hold no '@', no upper case and none of the '_', '-', ':' or '.'
// every lower-case vendor prefix and every address has; with spaces they
// could spell a grouped card number, so spaces are inert only among letters.
// A UUID (8-4-4-4-12 hex digits) is inert too: its groups are no card
// layout, it holds no address character, and no vendor prefix fits in hex.
// TestInertShape checks this against shapes itself.
func inertShape(v []byte) bool {
	if len(v) == 36 && isUUID(v) {
		return true
	}
	i := 0
	if v[0] == '-' {
		i = 1
	}
	if i < len(v) && isDigit(v[i]) {
		dots := 0
		for ; i < len(v); i++ {
			switch c := v[i]; {
			case isDigit(c):
			case c == '.' && dots == 0:
				dots++
			default:
				return inertWords(v)
			}
		}
		return true
	}
	return inertWords(v)
}

// Byte classes for inertWords.
const (
	inertLower uint8 = 1 << iota
	inertDigit
	inertSpace
	inertOther
)

var inertClass = func() (t [256]uint8) {
	for i := range t {
		switch c := byte(i); {
		case isLower(c):
			t[i] = inertLower
		case isDigit(c):
			t[i] = inertDigit
		case c == ' ':
			t[i] = inertSpace
		default:
			t[i] = inertOther
		}
	}
	return t
}()

// inertWords is the letters-and-digits half of inertShape.
func inertWords(v []byte) bool {
	var seen uint8
	for _, c := range v {
		seen |= inertClass[c]
		if seen&inertOther != 0 {
			return false // early: long text fails here within a few bytes
		}
	}
	return seen&(inertDigit|inertSpace) != inertDigit|inertSpace
}

// shapes runs the detectors that recognise a value by its shape alone.
func (s *Scanner) shapes(c *scanCtx, v []byte) {
	digits := 0
	for _, b := range v {
		if isDigit(b) {
			digits++
		}
	}

	// Whole-value shapes that contain separators.
	if v[0] == '+' && validPhone(v, false) {
		s.emit(c, ClassPhone, 0, len(v), v)
	}
	if digits >= 12 {
		s.cards(c, v)
	}
	if len(v) >= 18 && len(v) <= 42 && isUpper(v[0]) && isUpper(v[1]) && isDigit(v[2]) &&
		indexByte(v, ' ') > 0 {
		if d := s.stripSeps(v, " "); validIBAN(d) {
			s.emit(c, ClassIBAN, 0, len(v), d)
		}
	}

	for i := 0; i < len(v); {
		for i < len(v) && wordSep[v[i]] {
			i++
		}
		j := i
		for j < len(v) && !wordSep[v[j]] {
			j++
		}
		if j-i >= 6 {
			s.word(c, v, i, j)
		}
		i = j
	}
}

// word runs the word-level detectors over v[i:j].
func (s *Scanner) word(c *scanCtx, v []byte, i, j int) {
	w := v[i:j]

	// Vendor prefixes: try each position that starts a token (the start
	// of the word or after a byte that cannot be inside one) and leaves
	// room for the shortest token.
	for k := 0; k+minVendorLen <= len(w); k++ {
		if rulesByFirst[w[k]] == nil || (k > 0 && csAlnumUD[w[k-1]]) {
			continue
		}
		r, end := matchVendorAt(w, k)
		if r == nil {
			continue
		}
		if r.class == ClassJWT {
			if !s.jwt.decode(w[k:end], &s.claims) {
				continue
			}
		}
		s.emit(c, r.class, i+k, i+end, w[k:end])
		k = end - 1
	}

	// Strip punctuation that ends sentences or wraps values.
	a, b := 0, len(w)
	for a < b && (w[a] == '.' || w[a] == ':' || w[a] == '=') {
		a++
	}
	for b > a && (w[b-1] == '.' || w[b-1] == ':' || w[b-1] == '=') {
		b--
	}
	t := w[a:b]
	if len(t) < 6 {
		return
	}

	if at := indexByte(t, '@'); at > 0 {
		for k := at; k < len(t); k++ {
			if t[k] != '@' {
				continue
			}
			if s0, e0 := findEmail(t, k); s0 >= 0 {
				s.emit(c, ClassEmail, i+a+s0, i+a+e0, t[s0:e0])
				k = e0
			}
		}
	}

	var d [9]byte
	if len(t) == 11 && dashedSSN(t, &d) {
		s.emit(c, ClassUSSSN, i+a, i+b, t)
	}
	if len(t) >= 15 && len(t) <= 34 && isUpper(t[0]) && isUpper(t[1]) && isDigit(t[2]) &&
		!c.has(ClassIBAN) && validIBAN(t) {
		s.emit(c, ClassIBAN, i+a, i+b, t)
	}
	if c.pos == PosBody && c.kind != keyVersion && c.kind != keyIP && (isDigit(t[0]) ||
		indexByte(t, ':') >= 0) && validIP(t) {
		s.emit(c, ClassIPAddress, i+a, i+b, t)
	}
}

// cards finds card numbers written in groups ("4111 1111 1111 1111",
// "3782-822463-10005"); bare digit runs count only under a card key, which
// keyed handles.
func (s *Scanner) cards(c *scanCtx, v []byte) {
	// The digits live in the Scanner: a local array would escape through
	// emit and cost an allocation per value with 12 or more digits.
	digits := &s.cardDigits
	var groups [6]int
	for i := 0; i < len(v); {
		if !isDigit(v[i]) || (i > 0 && (isDigit(v[i-1]) || isAlpha(v[i-1]))) {
			i++
			continue
		}
		nd, ng, sep := 0, 0, byte(0)
		j := i
		ok := true
		for j < len(v) && ok {
			k := j
			for k < len(v) && isDigit(v[k]) {
				k++
			}
			if ng == len(groups) || nd+k-j > len(digits) {
				ok = false
				break
			}
			copy(digits[nd:], v[j:k])
			nd += k - j
			groups[ng] = k - j
			ng++
			j = k
			if j+1 < len(v) && (v[j] == ' ' || v[j] == '-') && isDigit(v[j+1]) &&
				(sep == 0 || sep == v[j]) {
				sep = v[j]
				j++
				continue
			}
			break
		}
		end := j
		if ok && ng >= 3 && cardGroups(groups[:ng]) && (end == len(v) || !isAlpha(v[end]) &&
			!isDigit(v[end])) && validCard(digits[:nd]) {
			s.emit(c, ClassPaymentCard, i, end, digits[:nd])
		}
		i = max(end, i+1)
	}
}

// SkipsHeader reports whether ScanHeader ignores a header by its name
// alone (protocol metadata such as Accept or Content-Length), so a caller
// that caches results per header value can skip the cache as well. name
// must be lower case.
func SkipsHeader(name string) bool { return skipHeader(name) }

// ScanHeader runs the detectors over one header. name must be lower case.
func (s *Scanner) ScanHeader(dir Direction, name, value string, fn func(*Match)) {
	if skipHeader(name) || len(value) == 0 {
		return
	}
	v := unsafeBytes(value)
	c := scanCtx{pos: PosHeader, dir: dir, key: unsafeBytes(name), fn: fn}

	switch name {
	case "authorization", "proxy-authorization":
		s.authorization(&c, v)
	case "cookie":
		s.cookies(&c, v, false)
	case "set-cookie":
		s.cookies(&c, v, true)
	default:
		c.kind = s.kindOf(c.key)
		s.scanValue(&c, v)
	}
}

// skipHeader reports whether a header holds protocol metadata that never
// carries sensitive values. It runs for every header of every exchange: a
// switch, which the compiler turns into a search by length and bytes, costs
// less than hashing the name for a map.
func skipHeader(name string) bool {
	switch name {
	case "content-type", "content-length", "accept", "accept-encoding", "accept-language",
		"host", "date", "connection", "cache-control", "etag", "last-modified", "vary", "server",
		"content-encoding", "transfer-encoding", "if-none-match", "if-modified-since", "expires",
		"age", "pragma", "user-agent", "keep-alive", "upgrade", "te", "trailer",
		"content-language", "accept-ranges", "content-range", "range", "x-content-type-options",
		"strict-transport-security", "content-security-policy", "x-frame-options",
		"access-control-allow-origin", "access-control-allow-headers",
		"access-control-allow-methods", "x-request-id", "traceparent", "tracestate",
		"x-b3-traceid", "x-b3-spanid", "x-amzn-trace-id", "sec-fetch-mode", "sec-fetch-site",
		"sec-fetch-dest", "sec-ch-ua", "via":
		return true
	}
	return false
}

// authorization reads an Authorization value: "Basic", "Bearer" and other
// schemes with one token, or a bare token.
func (s *Scanner) authorization(c *scanCtx, v []byte) {
	c.kind = keySecret
	sp := indexByte(v, ' ')
	if sp < 0 {
		c.kind = keyNone
		s.scanValue(c, v)
		if c.found&credentialBits == 0 && validBearer(v) {
			s.emit(c, ClassBearerToken, 0, len(v), v)
		}
		return
	}
	scheme, tok := v[:sp], v[sp+1:]
	for len(tok) > 0 && tok[0] == ' ' {
		tok, sp = tok[1:], sp+1
	}
	c.base = sp + 1
	switch {
	case asciiEqualFold(scheme, "basic"):
		if validBasic(s, tok) {
			s.emit(c, ClassBasicAuth, 0, len(tok), tok)
		}
	case asciiEqualFold(scheme, "bearer"), asciiEqualFold(scheme, "token"):
		// Shapes only: an opaque token is a bearer token, not a
		// generic secret.
		c.kind = keyNone
		s.scanValue(c, tok)
		if c.found&credentialBits == 0 && validBearer(tok) {
			s.emit(c, ClassBearerToken, 0, len(tok), tok)
		}
	default:
		// AWS SigV4, Digest and the like: parameters, not one token.
		// Vendor shapes inside them (the AKIA key id) still count.
		c.kind = keyNone
		c.base = 0
		s.scanValue(c, v)
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// validBearer accepts an RFC 6750 token68 of 8 to 8192 characters that is
// not a placeholder ("null", "undefined", "<token>").
func validBearer(v []byte) bool {
	if len(v) < 8 || len(v) > 8192 {
		return false
	}
	for _, c := range v {
		if !csTokenChar[c] {
			return false
		}
	}
	switch strings.ToLower(string(v)) {
	case "undefined", "null", "none", "anonymous", "redacted", "[redacted]":
		return false
	}
	return shannon(v) >= 2.5
}

// validBasic checks that tok decodes to "user:password" in printable text.
func validBasic(s *Scanner, tok []byte) bool {
	if len(tok) < 4 || len(tok) > 1024 {
		return false
	}
	n := base64.StdEncoding.DecodedLen(len(tok))
	if cap(s.alt) < n {
		s.alt = make([]byte, 0, n)
	}
	s.alt = s.alt[:n]
	m, err := base64.StdEncoding.Decode(s.alt, tok)
	if err != nil {
		m, err = base64.RawStdEncoding.Decode(s.alt, tok)
		if err != nil {
			return false
		}
	}
	d := s.alt[:m]
	colon := indexByte(d, ':')
	if colon < 0 {
		return false
	}
	for _, c := range d {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// cookies reads a Cookie header (name=value pairs separated by ';') or the
// first pair of a Set-Cookie header.
func (s *Scanner) cookies(c *scanCtx, v []byte, set bool) {
	c.pos = PosCookie
	for i := 0; i < len(v); {
		j := i
		for j < len(v) && v[j] != ';' {
			j++
		}
		pair := v[i:j]
		off := i
		for len(pair) > 0 && pair[0] == ' ' {
			pair, off = pair[1:], off+1
		}
		if eq := indexByte(pair, '='); eq > 0 {
			name, val := pair[:eq], pair[eq+1:]
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val, off = val[1:len(val)-1], off+1
			}
			s.cookie(c, name, val, off+eq+1)
		}
		if set {
			return // attributes (Path, Domain, …) follow the first pair
		}
		i = j + 1
	}
}

func (s *Scanner) cookie(c *scanCtx, name, val []byte, off int) {
	c.key, c.base, c.encoded = name, off, false
	c.kind = s.kindOf(name)
	if indexByte(val, '%') >= 0 {
		raw := len(val)
		s.val = percentDecode(s.val[:0], val, false)
		val = s.val
		c.encoded, c.encLen = true, raw
	}
	s.scanValue(c, val)
	if c.found&credentialBits == 0 && exchange.IsSessionCookie(name) && validSessionValue(val) {
		s.emit(c, ClassSessionCookie, 0, len(val), val)
	}
}

// validSessionValue accepts a session id: 16 to 4096 cookie-octets that look
// random (3 or more bits of entropy per byte).
func validSessionValue(v []byte) bool {
	if len(v) < 16 || len(v) > 4096 {
		return false
	}
	for _, c := range v {
		if c <= ' ' || c == ',' || c == ';' || c == '\\' || c == '"' || c >= 0x7f {
			return false
		}
	}
	return shannon(v) >= 3.0
}

// ScanQuery runs the detectors over a raw query string (without '?').
func (s *Scanner) ScanQuery(dir Direction, rawQuery string, fn func(*Match)) {
	s.ScanForm(PosQuery, dir, unsafeBytes(rawQuery), fn)
}

// ScanForm runs the detectors over application/x-www-form-urlencoded data
// (a body, or a query string with pos PosQuery). Keys and values are
// percent-decoded, '+' read as a space.
func (s *Scanner) ScanForm(pos Position, dir Direction, b []byte, fn func(*Match)) {
	c := scanCtx{pos: pos, dir: dir, fn: fn}
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] != '&' {
			j++
		}
		pair := b[i:j]
		key, val, voff := pair, pair[:0], j
		if eq := indexByte(pair, '='); eq >= 0 {
			key, val, voff = pair[:eq], pair[eq+1:], i+eq+1
		}
		if needsDecode(key) {
			s.key2 = percentDecode(s.key2[:0], key, true)
			key = s.key2
		}
		c.key, c.kind, c.base, c.encoded = key, s.kindOf(key), voff, false
		i = j + 1
		if needsDecode(val) {
			c.encoded, c.encLen = true, len(val)
			s.val = percentDecode(s.val[:0], val, true)
			val = s.val
		} else if idleKey(c.kind, c.parent) && (len(val) == 0 || inertShape(val)) {
			continue // what scanValue would drop, without the call
		}
		s.scanValue(&c, val)
	}
}

// ScanPath runs the detectors over each segment of a request path.
func (s *Scanner) ScanPath(dir Direction, path string, fn func(*Match)) {
	c := scanCtx{pos: PosPath, dir: dir, fn: fn}
	b := unsafeBytes(path)
	for i := 0; i < len(b); {
		for i < len(b) && b[i] == '/' {
			i++
		}
		j := i
		for j < len(b) && b[j] != '/' {
			j++
		}
		seg := b[i:j]
		// An inert segment holds no '%', and scanValue would drop it.
		if len(seg) >= 6 && !inertShape(seg) {
			c.base, c.encoded = i, false
			if indexByte(seg, '%') >= 0 {
				c.encoded, c.encLen = true, len(seg)
				s.val = percentDecode(s.val[:0], seg, false)
				seg = s.val
			}
			s.scanValue(&c, seg)
		}
		i = j
	}
}

// unsafeBytes views s as a byte slice without copying. Detectors only read
// their input, never write or keep it, so the string's immutability holds;
// copying every header and query would cost an allocation per part.
func unsafeBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

func needsDecode(b []byte) bool {
	for _, c := range b {
		if c == '%' || c == '+' {
			return true
		}
	}
	return false
}

// percentDecode appends the decoded s to dst. Malformed escapes are copied
// as they are, as browsers do.
func percentDecode(dst, s []byte, plusSpace bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+' && plusSpace:
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s)+0 && isHex(s[i+1]) && isHex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// ScanBody runs the detectors suited to the content type over a body
// prefix: JSON, form data, text, or nothing for binary media.
func (s *Scanner) ScanBody(dir Direction, contentType string, body []byte, fn func(*Match)) {
	if len(body) == 0 {
		return
	}
	switch {
	case contentType == "application/x-www-form-urlencoded":
		s.ScanForm(PosBody, dir, body, fn)
	case isJSONType(contentType), contentType == "" && looksJSON(body):
		s.ScanJSON(dir, body, fn)
	case binaryType(contentType):
	default:
		if contentType == "" && !mostlyText(body) {
			return
		}
		c := scanCtx{pos: PosBody, dir: dir, fn: fn}
		s.scanValue(&c, body)
	}
}

func isJSONType(ct string) bool {
	return ct == "application/json" || strings.HasSuffix(ct, "+json") || ct == "text/json" ||
		ct == "application/x-ndjson" || ct == "application/jsonl" ||
		ct == "application/x-amz-json-1.1" || ct == "application/x-amz-json-1.0"
}

func looksJSON(b []byte) bool {
	for _, c := range b {
		if isSpace(c) {
			continue
		}
		return c == '{' || c == '['
	}
	return false
}

func binaryType(ct string) bool {
	for _, p := range [...]string{"image/", "video/", "audio/", "font/"} {
		if strings.HasPrefix(ct, p) {
			return true
		}
	}
	switch ct {
	case "application/octet-stream", "application/protobuf", "application/x-protobuf",
		"application/grpc", "application/zip", "application/gzip", "application/pdf",
		"application/wasm", "application/vnd.google.protobuf":
		return true
	}
	return false
}

// mostlyText reports whether at most 1 in 32 of the first 512 bytes is a
// control byte other than whitespace.
func mostlyText(b []byte) bool {
	bad := 0
	for _, c := range b[:min(len(b), 512)] {
		if c < 0x20 && !isSpace(c) || c == 0x7f {
			bad++
		}
	}
	return bad*32 <= min(len(b), 512)
}

// ScanExchange runs every detector over the request (path, query, headers,
// body) and the response (headers, body) of ex, calling fn for each match in
// that order.
func (s *Scanner) ScanExchange(ex *exchange.Exchange, fn func(*Match)) {
	s.ScanPath(DirRequest, ex.Path, fn)
	if ex.RawQuery != "" {
		s.ScanQuery(DirRequest, ex.RawQuery, fn)
	}
	for i := range ex.Request.Headers {
		h := &ex.Request.Headers[i]
		s.ScanHeader(DirRequest, h.Name, h.Value, fn)
	}
	s.ScanBody(DirRequest, ex.Request.ContentType, ex.Request.Body, fn)

	for i := range ex.Response.Headers {
		h := &ex.Response.Headers[i]
		s.ScanHeader(DirResponse, h.Name, h.Value, fn)
	}
	s.ScanBody(DirResponse, ex.Response.ContentType, ex.Response.Body, fn)
}
