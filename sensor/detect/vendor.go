package detect

import "hash/crc32"

// charset is a byte-class table for the characters a token body may hold.
type charset [256]bool

func makeCharset(ranges ...string) *charset {
	var c charset
	for _, r := range ranges {
		if len(r) == 3 && r[1] == '-' {
			for b := int(r[0]); b <= int(r[2]); b++ {
				c[b] = true
			}
			continue
		}
		for i := 0; i < len(r); i++ {
			c[r[i]] = true
		}
	}
	return &c
}

var (
	csAlnum     = makeCharset("a-z", "A-Z", "0-9")
	csAlnumU    = makeCharset("a-z", "A-Z", "0-9", "_")
	csAlnumUD   = makeCharset("a-z", "A-Z", "0-9", "_", "-")
	csBase32U   = makeCharset("A-Z", "2-7")
	csHexLower  = makeCharset("a-f", "0-9")
	csSlack     = makeCharset("a-z", "A-Z", "0-9", "-")
	csJWT       = makeCharset("a-z", "A-Z", "0-9", "_", "-", ".")
	csSendGrid  = makeCharset("a-z", "A-Z", "0-9", "_", "-", ".")
	csWebhook   = makeCharset("a-z", "A-Z", "0-9", "/")
	csTokenChar = makeCharset("a-z", "A-Z", "0-9", "-", ".", "_", "~", "+", "/", "=")
)

// vendorRule describes one published credential shape: a fixed prefix, the
// characters and length of what follows, and an optional validator that
// sees the whole token (prefix included).
type vendorRule struct {
	prefix   string
	class    string
	body     *charset
	min, max int // length of the body after the prefix
	validate func(tok []byte) bool
}

// vendorRules is ordered so that, for rules sharing a first byte, the more
// specific prefix is tried first ("sk-ant-" before "sk-").
var vendorRules = []vendorRule{
	{"eyJ", ClassJWT, csJWT, 20, maxJWTLen, nil}, // validated by the JWT decoder
	{"github_pat_", ClassGitHubPAT, csAlnumU, 82, 82, validGitHubPAT},
	{"ghp_", ClassGitHubToken, csAlnum, 36, 36, validCRC32Token},
	{"gho_", ClassGitHubToken, csAlnum, 36, 36, validCRC32Token},
	{"ghu_", ClassGitHubToken, csAlnum, 36, 36, validCRC32Token},
	{"ghs_", ClassGitHubToken, csAlnum, 36, 36, validCRC32Token},
	{"ghr_", ClassGitHubToken, csAlnum, 36, 36, validCRC32Token},
	{"glpat-", ClassGitLabToken, csAlnumUD, 20, 64, mixedClasses},
	{"npm_", ClassNPMToken, csAlnum, 36, 36, validCRC32Token},
	{"AKIA", ClassAWSAccessKey, csBase32U, 16, 16, nil},
	{"ASIA", ClassAWSAccessKey, csBase32U, 16, 16, nil},
	{"AIza", ClassGoogleAPIKey, csAlnumUD, 35, 35, nil},
	{"AC", ClassTwilio, csHexLower, 32, 32, nil},
	{"SK", ClassTwilio, csHexLower, 32, 32, nil},
	{"SG.", ClassSendGridKey, csSendGrid, 66, 66, validSendGrid},
	{"sk-ant-", ClassAnthropicKey, csAlnumUD, 32, 200, mixedClasses},
	{"sk_live_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"sk_test_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"sk-", ClassOpenAIKey, csAlnumUD, 32, 200, mixedClasses},
	{"shpat_", ClassShopifyToken, csHexLower, 32, 32, nil},
	{"shpss_", ClassShopifyToken, csHexLower, 32, 32, nil},
	{"rk_live_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"rk_test_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"pk_live_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"pk_test_", ClassStripeKey, csAlnum, 24, 247, mixedClasses},
	{"pypi-AgEIcHlwaS5vcmc", ClassPyPIToken, csAlnumUD, 50, 400, nil},
	{"xoxb-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"xoxp-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"xoxa-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"xoxs-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"xoxr-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"xapp-", ClassSlackToken, csSlack, 20, 200, validSlackToken},
	{"hf_", ClassHuggingFace, csAlnum, 34, 34, mixedClasses},
	{"dop_v1_", ClassDigitalOcean, csHexLower, 64, 64, nil},
	{"https://hooks.slack.com/services/", ClassSlackWebhook, csWebhook, 40, 100,
		validSlackWebhook},
}

// rulesByFirst indexes vendorRules by the first byte of their prefix, so a
// candidate position costs one table load when no prefix starts there.
var rulesByFirst [256][]int

// minVendorLen is the length of the shortest token any rule accepts: a word
// shorter than it needs no prefix lookup at all.
var minVendorLen int

func init() {
	minVendorLen = maxJWTLen
	for i, r := range vendorRules {
		rulesByFirst[r.prefix[0]] = append(rulesByFirst[r.prefix[0]], i)
		minVendorLen = min(minVendorLen, len(r.prefix)+r.min)
	}
}

// matchVendorAt tries every rule whose prefix starts at w[i]. It returns the
// rule and the token's end, or -1. The token must end at a byte that cannot
// continue it, so a prefix inside a longer random string does not count.
func matchVendorAt(w []byte, i int) (*vendorRule, int) {
	for _, ri := range rulesByFirst[w[i]] {
		r := &vendorRules[ri]
		if len(w)-i < len(r.prefix)+r.min || string(w[i:i+len(r.prefix)]) != r.prefix {
			continue
		}
		j := i + len(r.prefix)
		lim := j + r.max
		for j < len(w) && j < lim && r.body[w[j]] {
			j++
		}
		n := j - i - len(r.prefix)
		if n < r.min || (j < len(w) && csAlnumUD[w[j]]) {
			continue
		}
		if r.validate != nil && !r.validate(w[i:j]) {
			continue
		}
		return r, j
	}
	return nil, -1
}

const base62Digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// AppendBase62CRC32 appends the 6-character base62 form of the CRC-32 (IEEE)
// of b, left-padded with '0': the checksum GitHub and npm put at the end of
// their tokens. Exported for tests that build shape-valid fake tokens.
func AppendBase62CRC32(dst, b []byte) []byte {
	v := crc32.ChecksumIEEE(b)
	var out [6]byte
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = base62Digits[v%62]
		v /= 62
	}
	return append(dst, out[:]...)
}

// validCRC32Token checks prefix(4) + 30 random characters + the base62
// CRC-32 of those 30 characters, the GitHub (ghp_ and kin) and npm format.
func validCRC32Token(tok []byte) bool {
	if len(tok) != 40 {
		return false
	}
	var sum [6]byte
	got := AppendBase62CRC32(sum[:0], tok[4:34])
	return string(got) == string(tok[34:])
}

// validGitHubPAT checks github_pat_ + 22 characters + '_' + 59 characters.
func validGitHubPAT(tok []byte) bool {
	b := tok[len("github_pat_"):]
	if len(b) != 82 || b[22] != '_' {
		return false
	}
	for i, c := range b {
		if i != 22 && !csAlnum[c] {
			return false
		}
	}
	return true
}

// validSendGrid checks SG. + 22 characters + '.' + 43 characters.
func validSendGrid(tok []byte) bool {
	b := tok[3:]
	return len(b) == 66 && b[22] == '.' && bytesNotIn(b[:22], '.') && bytesNotIn(b[23:], '.')
}

// validSlackToken wants dash-separated parts after the type, the first of
// which is a numeric team or user id.
func validSlackToken(tok []byte) bool {
	b := tok[5:]
	digits := 0
	for digits < len(b) && b[digits] >= '0' && b[digits] <= '9' {
		digits++
	}
	if tok[1] == 'a' && tok[2] == 'p' { // xapp-1-A0…: the level comes first
		return len(b) > 2 && b[0] >= '0' && b[0] <= '9' && b[1] == '-' && parts(b, '-') >= 3
	}
	return digits >= 8 && digits < len(b) && b[digits] == '-' && parts(b, '-') >= 3
}

// validSlackWebhook checks services/T…/B…/secret.
func validSlackWebhook(tok []byte) bool {
	b := tok[len("https://hooks.slack.com/services/"):]
	if parts(b, '/') != 3 || len(b) < 2 || b[0] != 'T' {
		return false
	}
	i := indexByte(b, '/')
	return i+1 < len(b) && b[i+1] == 'B' && len(b)-lastIndexByte(b, '/')-1 >= 20
}

func parts(b []byte, sep byte) int {
	n := 1
	for _, c := range b {
		if c == sep {
			n++
		}
	}
	return n
}

func bytesNotIn(b []byte, c byte) bool { return indexByte(b, c) < 0 }

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}

func lastIndexByte(b []byte, c byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c {
			return i
		}
	}
	return -1
}

// mixedClasses wants at least two of lower case, upper case and digits in
// the part after the first separator-free prefix: a real random key has them,
// an English word or "sk-this-is-not-a-key" does not.
func mixedClasses(tok []byte) bool {
	var lo, up, dg bool
	for _, c := range tok {
		switch {
		case c >= 'a' && c <= 'z':
			lo = true
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= '0' && c <= '9':
			dg = true
		}
	}
	n := 0
	for _, f := range [...]bool{lo, up, dg} {
		if f {
			n++
		}
	}
	return n >= 2 && shannon(tok) >= 3.0
}
