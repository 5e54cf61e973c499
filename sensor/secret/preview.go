package secret

import "unicode/utf8"

// Ellipsis ends every preview: it says "there was more here".
const Ellipsis = "…"

// MaxPreviewChars is the most characters of a non-credential value a preview
// ever shows.
const MaxPreviewChars = 4

// vendorPrefixes are the published, fixed prefixes of vendor credentials.
// They identify the vendor and the key type and carry no entropy, so a preview
// may show them. Longer prefixes come first so the most specific one wins.
var vendorPrefixes = []string{
	"github_pat_", "sk-ant-admin01-", "sk-ant-api03-", "sk-ant-", "sk-proj-", "sk-svcacct-",
	"sk-admin-", "sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_",
	"glpat-", "shpat_", "shpss_", "dop_v1_", "pypi-", "xoxb-", "xoxp-", "xoxa-", "xoxs-",
	"xoxr-", "xapp-", "npm_", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "hf_", "AKIA", "ASIA",
	"AIza", "SG.", "sk-", "eyJ", "https://hooks.slack.com/services/",
}

// prefixPreviews holds each vendor prefix with the ellipsis already added,
// so a credential preview allocates nothing.
var prefixPreviews = func() []string {
	out := make([]string, len(vendorPrefixes))
	for i, p := range vendorPrefixes {
		out[i] = p + Ellipsis
	}
	return out
}()

// nonCredential lists the data classes that are personal data or identifiers
// rather than credentials. Every other class, including one this list has
// never heard of, gets the credential rule: safe by default.
var nonCredential = map[string]bool{
	"email": true, "phone": true, "payment_card": true, "iban": true, "us_ssn": true,
	"ip_address": true, "person_name": true, "street_address": true,
	"date_of_birth": true, "user_id": true, "account_id": true, "org_id": true,
	"geo_location": true,
}

// redactFully lists non-credential classes whose first characters are
// themselves sensitive (a card's IIN narrows its issuer, an SSN's area its
// state): their previews show no characters at all.
var redactFully = map[string]bool{
	"payment_card": true, "us_ssn": true, "iban": true,
}

// IsCredential reports whether Preview treats class as a credential.
func IsCredential(class string) bool { return !nonCredential[class] }

// Preview returns a redacted form of value that is safe to emit.
//
// The rule:
//   - credentials (any class not listed as personal data or an identifier):
//     the longest published vendor prefix the value starts with ("ghp_",
//     "sk-ant-", "AKIA", …) followed by "…", or "…" alone. No character
//     after the prefix is ever shown.
//   - payment cards, SSNs and IBANs: "…" alone.
//   - other personal data and identifiers: at most the first 4 characters,
//     and never more than half of the value (rounded down), followed by "…".
//     Characters are runes; a value of one character shows nothing.
func Preview(class string, value []byte) string {
	if IsCredential(class) {
		for i, p := range vendorPrefixes {
			// string(value[:n]) == p compares without converting (no allocation).
			if len(value) > len(p) && string(value[:len(p)]) == p {
				return prefixPreviews[i]
			}
		}
		return Ellipsis
	}
	if redactFully[class] {
		return Ellipsis
	}
	return string(value[:shown(value)]) + Ellipsis
}

// AppendPreview appends Preview(class, value) to dst, for callers that
// intern previews rather than allocate one per value.
func AppendPreview(dst []byte, class string, value []byte) []byte {
	if IsCredential(class) || redactFully[class] {
		return append(dst, Preview(class, value)...)
	}
	return append(append(dst, value[:shown(value)]...), Ellipsis...)
}

// shown returns how many bytes of a non-credential value a preview shows.
func shown(value []byte) int {
	n := utf8.RuneCount(value) / 2
	if n > MaxPreviewChars {
		n = MaxPreviewChars
	}
	end := 0
	for i := 0; i < n; i++ {
		r, size := utf8.DecodeRune(value[end:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		end += size
	}
	return end
}
