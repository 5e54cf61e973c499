// Package detect finds sensitive data in HTTP exchanges: credentials (JWTs,
// bearer and basic credentials, session cookies, vendor API keys with their
// published shapes and checksums, high-entropy values under credential-like
// names), personal data (emails, phone numbers, payment cards, IBANs, US
// SSNs, IP addresses, names, street addresses, dates of birth) and the
// identifiers analytics vendors collect (user, account and organisation ids,
// coarse location).
//
// Input is one exchange.Exchange at a time, or one part of it (a header, a
// query or form string, a JSON body prefix, a single value). Output is a
// stream of Match values passed to a callback: the data class, where it was
// (path, query, header, cookie or body; request or response), the key it sat
// under, offsets within the scanned part, and a keyed fingerprint and
// redacted preview from package secret. A Match never carries the value.
//
// Detection is table driven: byte-class tables split values into words, a
// first-byte table proposes vendor prefixes, and key names are normalised and
// looked up in a map. Validators (checksums, Luhn, mod 97, JWT decoding, TLD
// and country-code tables) run only on candidates. No regular expression runs
// on traffic. A Scanner allocates only for what it reports and has not
// reported lately (key names, fingerprints, previews and JWT claims are
// remembered in bounded tables); it never panics on any input and bounds
// the work per value (JSON depth, JWT size, value length).
package detect
