package vendor

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Category says what a vendor does. The set is fixed: the catalog test and
// Validate reject anything else, so that reports can group by it.
type Category string

// Categories. Their strings are part of the output contract.
const (
	CatAnalytics     Category = "analytics"      // product and web analytics, CDPs, attribution
	CatSessionReplay Category = "session_replay" // records what users see and type
	CatAdvertising   Category = "advertising"    // ad networks, pixels, conversion APIs, consent
	CatAI            Category = "ai"             // model APIs and AI platforms
	CatObservability Category = "observability"  // APM, logs, metrics, error tracking, paging
	CatComms         Category = "communications" // email, SMS, voice, chat, push, webhooks
	CatPayments      Category = "payments"       // payment processing, billing, tax, banking
	CatAuth          Category = "auth"           // identity providers, SSO, sign-in
	CatCRM           Category = "crm"            // CRM, support desks, marketing automation
	CatCloud         Category = "cloud"          // IaaS and PaaS provider APIs
	CatStorage       Category = "storage"        // object storage and file sharing
	CatDatabase      Category = "database"       // managed databases and data platforms
	CatCDN           Category = "cdn"            // content delivery, edge, static assets
	CatFeatureFlags  Category = "feature_flags"  // feature flags and experimentation
	CatDevTools      Category = "devtools"       // source hosting, CI, package registries
	CatProductivity  Category = "productivity"   // office suites, work management, CMS
	CatMaps          Category = "maps"           // maps, geolocation, geo-IP, weather, address
	CatSearch        Category = "search"         // hosted search and search engines
	CatSecurity      Category = "security"       // captcha, fraud, KYC, PKI, secrets, VPN
	CatSocial        Category = "social"         // social networks and their embeds
	CatMedia         Category = "media"          // streaming, news, games, media content
	CatCommerce      Category = "commerce"       // marketplaces, shops, shipping
	CatPlatform      Category = "platform"       // OS, device and app-store services
)

// Categories lists every valid category in display order.
var Categories = []Category{
	CatAnalytics, CatSessionReplay, CatAdvertising, CatAI, CatObservability, CatComms,
	CatPayments, CatAuth, CatCRM, CatCloud, CatStorage, CatDatabase, CatCDN, CatFeatureFlags,
	CatDevTools, CatProductivity, CatMaps, CatSearch, CatSecurity, CatSocial, CatMedia,
	CatCommerce, CatPlatform,
}

// Tier says how much a vendor may be trusted with. Risk scores multiply
// data sensitivity by Weight: the same e-mail address is routine for a
// critical vendor and a leak for a minimal one.
//
//   - critical (weight 0.25): may receive anything, secrets included, because
//     it already runs or holds your system: your cloud, your IdP, your source
//     host and CI, your primary database.
//   - trusted (weight 0.5): a processor under contract that needs personal
//     data to do its job (payments, e-mail and SMS, CRM, support), but should
//     not see credentials other than its own.
//   - limited (weight 0.75): should see operational data only: no secrets,
//     as little PII as possible (observability, feature flags, AI APIs,
//     maps, CDNs).
//   - minimal (weight 1.0): should receive no PII and no credentials at all
//     (analytics, advertising, session replay, social and media embeds).
//
// The zero Tier is unknown (unclassified destinations); it weighs 1.0, as
// much as minimal, since nothing is known about what the destination may
// receive.
type Tier uint8

// Tiers, from most to least trusted after the unknown zero value.
const (
	TierUnknown Tier = iota
	TierCritical
	TierTrusted
	TierLimited
	TierMinimal
)

var tierNames = [...]string{"", "critical", "trusted", "limited", "minimal"}

// String returns the tier's name, "" for TierUnknown.
func (t Tier) String() string {
	if int(t) < len(tierNames) {
		return tierNames[t]
	}
	return ""
}

// Weight returns the risk multiplier documented on Tier.
func (t Tier) Weight() float64 {
	switch t {
	case TierCritical:
		return 0.25
	case TierTrusted:
		return 0.5
	case TierLimited:
		return 0.75
	}
	return 1.0
}

// ParseTier accepts a tier's name or its number 1..4.
func ParseTier(s string) (Tier, error) {
	switch s {
	case "critical", "1":
		return TierCritical, nil
	case "trusted", "2":
		return TierTrusted, nil
	case "limited", "3":
		return TierLimited, nil
	case "minimal", "4":
		return TierMinimal, nil
	}
	return TierUnknown, fmt.Errorf(
		"vendor: unknown tier %q (want critical, trusted, limited or minimal)", s)
}

// MarshalText writes the tier's name; TierUnknown writes "".
func (t Tier) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a tier's name or number.
func (t *Tier) UnmarshalText(b []byte) error {
	v, err := ParseTier(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Vendor is one third-party service.
type Vendor struct {
	ID       string   `yaml:"id" json:"id"`
	Name     string   `yaml:"name" json:"name"`
	Category Category `yaml:"category" json:"category"`
	Tier     Tier     `yaml:"tier" json:"tier"`
	// Domains the vendor runs: "example.com" covers the name and all names
	// under it, "*.example.com" only the names under it.
	Domains []string `yaml:"domains" json:"domains"`
	// Hosting lists domains under which the vendor serves its customers'
	// own code or content (herokuapp.com, github.io, ngrok.io). A name there
	// is run by someone unknown, so Match does not name the vendor for it;
	// HostedOn does. Same syntax as Domains.
	Hosting []string `yaml:"hosting,omitempty" json:"hosting,omitempty"`
	// Credentials are the credential types this vendor issues, as
	// sensor/secret names them ("stripe_key"), or "jwt:<issuer domain>".
	Credentials []string `yaml:"credentials,omitempty" json:"credentials,omitempty"`
}

// Errors from loading and validating catalogs.
var (
	ErrInvalidCatalog = errors.New("vendor: invalid catalog")
)

// slot says which vendor a suffix belongs to. self applies when the suffix
// is the whole host name, sub when the host name is under it. Values are
// vendor indexes plus one, so that zero means none.
type slot struct {
	self, sub   int32
	selfH, subH bool // the match is a hosting domain
}

// Catalog is a set of vendors indexed by domain suffix. It is immutable
// once built and safe for concurrent use.
type Catalog struct {
	vendors []Vendor
	byID    map[string]int
	index   map[string]slot
}

// NewCatalog validates vendors and indexes them. The slice is copied.
func NewCatalog(vendors []Vendor) (*Catalog, error) {
	c := &Catalog{vendors: slices.Clone(vendors)}
	if err := c.build(); err != nil {
		return nil, err
	}
	return c, nil
}

var (
	defaultOnce    sync.Once
	defaultCatalog *Catalog
)

// Default returns the catalog embedded in the binary (catalog.yaml). It is
// parsed once; the embedded file is checked by tests, so a failure here is
// a build defect and panics.
func Default() *Catalog {
	defaultOnce.Do(func() {
		vs, err := ParseVendors("catalog.yaml", catalogYAML)
		if err != nil {
			panic(err)
		}
		c, err := NewCatalog(vs)
		if err != nil {
			panic(err)
		}
		defaultCatalog = c
	})
	return defaultCatalog
}

// ParseVendors reads a YAML list of vendors in the catalog schema. name is
// used in error messages. Unknown keys are errors, and errors carry the
// line number. The result is not validated; NewCatalog and Merge do that.
func ParseVendors(name string, data []byte) ([]Vendor, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var vs []Vendor
	if err := dec.Decode(&vs); err != nil {
		return nil, fmt.Errorf("vendor: parse %s: %w", name, err)
	}
	return vs, nil
}

// Len returns the number of vendors.
func (c *Catalog) Len() int { return len(c.vendors) }

// Vendors returns the vendors in catalog order. The slice is shared with
// the catalog and must not be modified.
func (c *Catalog) Vendors() []Vendor { return c.vendors }

// ByID returns the vendor with the given id, or nil.
func (c *Catalog) ByID(id string) *Vendor {
	if i, ok := c.byID[id]; ok {
		return &c.vendors[i]
	}
	return nil
}

// Match returns the vendor that runs hostname, by the longest domain suffix
// that matches on a label boundary: "o1.ingest.sentry.io" is Sentry,
// "evilsentry.io" is not. It returns nil for unknown names and for names
// under a vendor's hosting domains (see Vendor.Hosting). hostname should be
// lower case; a trailing dot is ignored. Match does not allocate for
// lower-case input.
func (c *Catalog) Match(hostname string) *Vendor {
	i, hosted := c.lookup(hostname)
	if i < 0 || hosted {
		return nil
	}
	return &c.vendors[i]
}

// HostedOn returns the vendor on whose hosting domain hostname sits, or nil.
func (c *Catalog) HostedOn(hostname string) *Vendor {
	i, hosted := c.lookup(hostname)
	if i < 0 || !hosted {
		return nil
	}
	return &c.vendors[i]
}

// lookup walks hostname from the full name towards its last label, so the
// first suffix found is the longest.
func (c *Catalog) lookup(hostname string) (idx int, hosted bool) {
	h := strings.TrimSuffix(hostname, ".")
	if hasUpper(h) {
		h = strings.ToLower(h)
	}
	if s, ok := c.index[h]; ok && s.self != 0 {
		return int(s.self - 1), s.selfH
	}
	for {
		dot := strings.IndexByte(h, '.')
		if dot < 0 {
			return -1, false
		}
		h = h[dot+1:]
		if s, ok := c.index[h]; ok && s.sub != 0 {
			return int(s.sub - 1), s.subH
		}
	}
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// Merge returns a new catalog: the receiver's vendors with overrides
// applied. An override whose id exists replaces that vendor entirely;
// others are added. A domain claimed by an override is taken away from the
// built-in vendor that had it, so users can re-home a name. Overrides must
// be valid and must not conflict with each other. A built-in vendor left
// with no domain is dropped. The receiver is not changed.
func (c *Catalog) Merge(overrides []Vendor) (*Catalog, error) {
	if _, err := NewCatalog(overrides); err != nil {
		return nil, err
	}
	claimed := make(map[string]bool)
	for _, o := range overrides {
		for _, d := range o.Domains {
			claimed[normDomain(d)] = true
		}
		for _, d := range o.Hosting {
			claimed[normDomain(d)] = true
		}
	}
	replaced := make(map[string]Vendor, len(overrides))
	for _, o := range overrides {
		replaced[o.ID] = o
	}
	out := &Catalog{vendors: make([]Vendor, 0, len(c.vendors)+len(overrides))}
	for _, v := range c.vendors {
		if o, ok := replaced[v.ID]; ok {
			out.vendors = append(out.vendors, o)
			delete(replaced, v.ID)
			continue
		}
		v.Domains = slices.DeleteFunc(slices.Clone(v.Domains), func(d string) bool {
			return claimed[normDomain(d)]
		})
		v.Hosting = slices.DeleteFunc(slices.Clone(v.Hosting), func(d string) bool {
			return claimed[normDomain(d)]
		})
		if len(v.Domains) == 0 && len(v.Hosting) == 0 {
			continue // every domain was re-homed: nothing left to match
		}
		out.vendors = append(out.vendors, v)
	}
	for _, o := range overrides {
		if _, ok := replaced[o.ID]; ok {
			out.vendors = append(out.vendors, o)
		}
	}
	if err := out.build(); err != nil {
		return nil, err
	}
	return out, nil
}

func normDomain(d string) string { return strings.ToLower(strings.TrimSpace(d)) }

// build validates the vendors and fills the indexes.
func (c *Catalog) build() error {
	var errs []error
	c.byID = make(map[string]int, len(c.vendors))
	c.index = make(map[string]slot, 2*len(c.vendors))
	owner := make(map[string]string) // domain key → vendor id, for messages
	for i := range c.vendors {
		v := &c.vendors[i]
		if err := v.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if j, dup := c.byID[v.ID]; dup {
			errs = append(errs, fmt.Errorf("vendor %q: id also used by entry %d", v.ID, j+1))
			continue
		}
		c.byID[v.ID] = i
		add := func(d string, hosting bool) {
			d = normDomain(d)
			key, wild := strings.CutPrefix(d, "*.")
			s := c.index[key]
			if other, ok := owner[d]; ok {
				errs = append(errs,
					fmt.Errorf("vendor %q: domain %q also belongs to %q", v.ID, d, other))
				return
			}
			owner[d] = v.ID
			if !wild {
				if s.self != 0 {
					errs = append(errs, fmt.Errorf("vendor %q: domain %q also belongs to %q",
						v.ID, d, c.vendors[s.self-1].ID))
					return
				}
				s.self, s.selfH = int32(i+1), hosting
			}
			if s.sub != 0 {
				errs = append(errs, fmt.Errorf("vendor %q: names under %q also belong to %q",
					v.ID, key, c.vendors[s.sub-1].ID))
				return
			}
			s.sub, s.subH = int32(i+1), hosting
			c.index[key] = s
		}
		for _, d := range v.Domains {
			add(d, false)
		}
		for _, d := range v.Hosting {
			add(d, true)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalidCatalog, errors.Join(errs...))
	}
	return nil
}

// validate checks one entry against the schema described in catalog.yaml.
func (v *Vendor) validate() error {
	if !validID(v.ID) {
		return fmt.Errorf("vendor %q: id must be 1-64 characters of a-z, 0-9, '-' or '_'", v.ID)
	}
	if strings.TrimSpace(v.Name) == "" {
		return fmt.Errorf("vendor %q: name is empty", v.ID)
	}
	if !slices.Contains(Categories, v.Category) {
		return fmt.Errorf("vendor %q: unknown category %q", v.ID, v.Category)
	}
	if v.Tier == TierUnknown || v.Tier > TierMinimal {
		return fmt.Errorf("vendor %q: tier must be critical, trusted, limited or minimal", v.ID)
	}
	if len(v.Domains) == 0 && len(v.Hosting) == 0 {
		return fmt.Errorf("vendor %q: no domains", v.ID)
	}
	all := append(slices.Clone(v.Domains), v.Hosting...)
	for _, d := range all {
		if !ValidDomain(d) {
			return fmt.Errorf("vendor %q: invalid domain %q", v.ID, d)
		}
	}
	// A domain under another domain of the same list is dead weight and
	// usually a typo for something else. (A hosting domain under one of the
	// vendor's own domains is the point of Hosting.)
	for _, list := range [][]string{v.Domains, v.Hosting} {
		for _, d := range list {
			for _, e := range list {
				de := strings.TrimPrefix(normDomain(d), "*.")
				ee := strings.TrimPrefix(normDomain(e), "*.")
				if d != e && strings.HasSuffix(de, "."+ee) {
					return fmt.Errorf("vendor %q: domain %q is already covered by %q", v.ID, d, e)
				}
			}
		}
	}
	for _, cr := range v.Credentials {
		if !validCredential(cr) {
			return fmt.Errorf("vendor %q: invalid credential type %q", v.ID, cr)
		}
	}
	return nil
}

func validID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

func validCredential(s string) bool {
	if iss, ok := strings.CutPrefix(s, "jwt:"); ok {
		return ValidDomain(iss) && !strings.HasPrefix(iss, "*.")
	}
	return validID(s) && !strings.Contains(s, "-")
}

// ValidDomain reports whether d is a catalog domain: lower-case LDH labels
// of 1-63 characters, at least two labels, no leading or trailing hyphen in
// a label, at most 253 characters, optionally prefixed by "*.".
func ValidDomain(d string) bool {
	d = strings.TrimPrefix(d, "*.")
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			b := l[i]
			if !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-') {
				return false
			}
		}
	}
	return true
}
