package egress

import (
	"net/netip"
	"strings"
)

// cgnat is the shared address space of RFC 6598 (carrier-grade NAT). It is
// not "private" for netip, but it never routes on the Internet, and cloud
// and Kubernetes networks use it for pods and services.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// defaultInternalSuffixes are name suffixes that only resolve inside a
// network: mDNS (RFC 6762), the special-use names of RFC 6761 and RFC 8375,
// Kubernetes cluster DNS, and the ICANN-reserved ".internal".
var defaultInternalSuffixes = []string{
	"localhost",
	"local",
	"internal",
	"localdomain",
	"home.arpa",
	"lan",
	"intranet",
	"corp",
	"cluster.local",
	"svc",
	"in-addr.arpa",
	"ip6.arpa",
}

// Classifier tells local from external addresses and names. Its zero value
// is not usable; build one with NewClassifier. A Classifier is immutable
// after construction and safe for concurrent use.
type Classifier struct {
	prefixes []netip.Prefix
	// suffixes holds internal name suffixes, lower case, without leading or
	// trailing dots.
	suffixes map[string]struct{}
}

// NewClassifier returns a Classifier that also treats the given CIDRs as
// local and the given domain suffixes (e.g. "corp.example.com") as internal,
// in addition to the built-in special-use ranges and names. Suffixes match
// on label boundaries: "example.com" covers "a.example.com" but not
// "badexample.com".
func NewClassifier(cidrs []netip.Prefix, internalSuffixes []string) *Classifier {
	c := &Classifier{suffixes: make(map[string]struct{})}
	for _, p := range cidrs {
		if p.IsValid() {
			c.prefixes = append(c.prefixes, p.Masked())
		}
	}
	for _, s := range defaultInternalSuffixes {
		c.suffixes[s] = struct{}{}
	}
	for _, s := range internalSuffixes {
		s = strings.Trim(strings.ToLower(strings.TrimSpace(s)), ".")
		s = strings.TrimPrefix(s, "*.")
		if s != "" {
			c.suffixes[s] = struct{}{}
		}
	}
	return c
}

// Local reports whether addr belongs to this deployment rather than to the
// Internet: loopback, RFC 1918 and ULA (fc00::/7), CGNAT (100.64/10),
// link-local, multicast, the unspecified address, and the configured CIDRs.
// IPv4-mapped IPv6 addresses are judged as IPv4. An invalid address is not
// local.
func (c *Classifier) Local(addr netip.Addr) bool {
	if !addr.IsValid() {
		return false
	}
	addr = addr.Unmap()
	if addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		addr.IsMulticast() || addr.IsUnspecified() || cgnat.Contains(addr) {
		return true
	}
	if addr.Is4() && addr.As4()[0] == 255 { // limited broadcast
		return true
	}
	for _, p := range c.prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// InternalName reports whether host names something inside the deployment:
// a single-label name ("redis", a Kubernetes short name), a name under a
// built-in special-use suffix (".local", ".internal", ".svc",
// ".cluster.local", "localhost", …) or under a configured suffix, or an IP
// literal that Local accepts. host may carry a port, a trailing dot and upper
// case. The empty name is not internal.
func (c *Classifier) InternalName(host string) bool {
	host = normalizeHost(host)
	if host == "" {
		return false
	}
	if mayBeIP(host) {
		if ip, err := netip.ParseAddr(host); err == nil {
			return c.Local(ip)
		}
	}
	if !strings.Contains(host, ".") {
		return true
	}
	for s := host; ; {
		if _, ok := c.suffixes[s]; ok {
			return true
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return false
		}
		s = s[i+1:]
	}
}

// mayBeIP is a cheap pre-check before netip.ParseAddr, whose error for an
// ordinary name costs an allocation: IPv4 literals are digits and dots,
// IPv6 literals contain a colon, and no host name contains a colon.
func mayBeIP(host string) bool {
	if strings.IndexByte(host, ':') >= 0 {
		return true
	}
	for i := 0; i < len(host); i++ {
		if (host[i] < '0' || host[i] > '9') && host[i] != '.' {
			return false
		}
	}
	return true
}
