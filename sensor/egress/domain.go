package egress

import (
	"net/netip"
	"strings"
	"unicode"

	"golang.org/x/net/publicsuffix"
)

// Registrable returns the registrable domain of host (its public suffix plus
// one label, "eTLD+1"): "o123.ingest.sentry.io" gives "sentry.io",
// "www.bbc.co.uk" gives "bbc.co.uk". It uses the public suffix list compiled
// into golang.org/x/net/publicsuffix, private section included, so names
// under hosting suffixes keep their customer label ("app.herokuapp.com").
//
// host may carry a port ("example.com:443", "[::1]:80"), a trailing dot and
// upper case; the result is lower case without them. IP literals come back
// in canonical form, single-label names and names that are themselves a
// public suffix come back unchanged, and "" gives "".
func Registrable(host string) string {
	host = normalizeHost(host)
	if host == "" {
		return ""
	}
	if mayBeIP(host) {
		if ip, err := netip.ParseAddr(host); err == nil {
			return ip.Unmap().String()
		}
	}
	if !strings.Contains(host, ".") || !dnsChars(host) {
		// A single label, or something that is not a DNS name at all:
		// it stands for itself.
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		// host is a public suffix itself ("co.uk", "github.io") or has an
		// empty label: it has no registrable part, so it stands for itself.
		return host
	}
	return d
}

// NormalizeHost returns host in the form the rest of apitap compares names
// in: lower case, without port, brackets or trailing dot.
func NormalizeHost(host string) string { return normalizeHost(host) }

func normalizeHost(host string) string {
	// One pass strips one layer ("[x]", ":port", spaces, trailing dots);
	// what it leaves can hold another ("[:]" leaves ":"). Passes repeat
	// until nothing changes, so that a normalized name normalizes to
	// itself: names are compared after this, and stored ones again. A pass
	// that changes the name shortens it, so this ends.
	for {
		next := normalizeOnce(host)
		if next == host {
			return host
		}
		host = next
	}
}

func normalizeOnce(host string) string {
	host = strings.TrimSpace(host)
	if host == "" {
		return ""
	}
	switch {
	case host[0] == '[':
		// "[v6]" or "[v6]:port"
		if i := strings.IndexByte(host, ']'); i > 0 {
			host = host[1:i]
		}
	case strings.Count(host, ":") == 1:
		// "name:port" or "v4:port"; a bare IPv6 literal has several colons.
		host = host[:strings.IndexByte(host, ':')]
	}
	host = strings.TrimRightFunc(host, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	return strings.ToLower(host)
}

// dnsChars reports whether s holds only the bytes host names use in
// practice: letters, digits, '-', '_' and '.'.
func dnsChars(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
			b == '-' || b == '_' || b == '.') {
			return false
		}
	}
	return true
}
