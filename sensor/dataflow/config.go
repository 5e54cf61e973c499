package dataflow

import "time"

// Config tunes an Analyzer. The zero value works: every field says its
// default.
type Config struct {
	// Policy says which data each tier or vendor may receive. The zero
	// Policy allows everything.
	Policy Policy `yaml:"policy" json:"policy"`

	// LearningWindow is how long, in packet time after a credential is
	// first seen, new clients using it are learned silently; after it, a
	// new client raises credential_new_client. Default 1h.
	LearningWindow time.Duration `yaml:"learning_window" json:"learning_window"`
	// SharedClients is how many distinct clients may use one credential
	// within SharedWindow before credential_shared is raised. Default 5.
	SharedClients int `yaml:"shared_clients" json:"shared_clients"`
	// SharedWindow is the window for SharedClients. Default 1h.
	SharedWindow time.Duration `yaml:"shared_window" json:"shared_window"`
	// JWTMaxLifetime is the longest exp − iat accepted before jwt_weak.
	// Default 24h.
	JWTMaxLifetime time.Duration `yaml:"jwt_max_lifetime" json:"jwt_max_lifetime"`
	// LocalIssuers are JWT issuer hosts (exact, or a suffix when they start
	// with '.') that belong to this organisation. Hosts served by local
	// services, private addresses and .local/.internal/.svc names count as
	// local without being listed.
	LocalIssuers []string `yaml:"local_issuers" json:"local_issuers"`

	// Disabled switches detectors off by data class: their matches are
	// ignored. Default: all on.
	Disabled map[string]bool `yaml:"disabled" json:"disabled,omitempty"`

	// DefaultTierWeight is the weight of a destination whose resolver gave
	// none. Default 1.
	DefaultTierWeight float64 `yaml:"default_tier_weight" json:"default_tier_weight"`
	// Risk multipliers, applied on top of sensitivity × tier weight:
	// data in the URL (default 2), sent in plaintext (default 1.5), to an
	// external vendor not declared (default 1.5), to an external
	// destination no vendor is known for (default 2).
	URLMultiplier          float64 `yaml:"url_multiplier" json:"url_multiplier"`
	PlaintextMultiplier    float64 `yaml:"plaintext_multiplier" json:"plaintext_multiplier"`
	UndeclaredMultiplier   float64 `yaml:"undeclared_multiplier" json:"undeclared_multiplier"`
	UnclassifiedMultiplier float64 `yaml:"unclassified_multiplier" json:"unclassified_multiplier"`

	// ResponseSampleAfter is how many incoming bodies (responses, and
	// requests to local services) of each (server, method, side) are
	// scanned before sampling starts; after that one in
	// ResponseSampleEvery is. Bodies sent to remote destinations are always
	// scanned. Defaults 64 and 16; set ResponseSampleEvery to 1 to scan
	// every body.
	ResponseSampleAfter int64 `yaml:"response_sample_after" json:"response_sample_after"`
	ResponseSampleEvery int64 `yaml:"response_sample_every" json:"response_sample_every"`
	// ResponseSampleQuietEvery replaces ResponseSampleEvery for a group
	// whose last ResponseSampleAfter scanned bodies all matched nothing:
	// an endpoint whose answers have shown no sensitive data for that long
	// is read less often, and the first match puts it back on
	// ResponseSampleEvery. Default 4 × ResponseSampleEvery (64), or 1 when
	// ResponseSampleEvery is 1, so that setting that to 1 still scans
	// every body; never less than ResponseSampleEvery.
	ResponseSampleQuietEvery int64 `yaml:"response_sample_quiet_every" json:"response_sample_quiet_every"`

	// Table limits. When a table is full, new entries are dropped and
	// counted in Stats. Defaults: 10000 flows, 10000 credentials, 10000
	// findings, 256 clients and 64 destinations remembered per credential.
	MaxFlows                     int `yaml:"max_flows" json:"max_flows"`
	MaxCredentials               int `yaml:"max_credentials" json:"max_credentials"`
	MaxFindings                  int `yaml:"max_findings" json:"max_findings"`
	MaxClientsPerCredential      int `yaml:"max_clients_per_credential" json:"max_clients_per_credential"`
	MaxDestinationsPerCredential int `yaml:"max_destinations_per_credential" json:"max_destinations_per_credential"`
}

func orDuration(v, d time.Duration) time.Duration {
	if v <= 0 {
		return d
	}
	return v
}

func orInt(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func orFloat(v, d float64) float64 {
	if v <= 0 {
		return d
	}
	return v
}

func (c *Config) learningWindow() time.Duration { return orDuration(c.LearningWindow, time.Hour) }
func (c *Config) sharedClients() int            { return orInt(c.SharedClients, 5) }
func (c *Config) sharedWindow() time.Duration   { return orDuration(c.SharedWindow, time.Hour) }
func (c *Config) jwtMaxLifetime() time.Duration { return orDuration(c.JWTMaxLifetime, 24*time.Hour) }
func (c *Config) defaultTierWeight() float64    { return orFloat(c.DefaultTierWeight, 1) }
func (c *Config) urlMultiplier() float64        { return orFloat(c.URLMultiplier, 2) }
func (c *Config) plaintextMultiplier() float64  { return orFloat(c.PlaintextMultiplier, 1.5) }
func (c *Config) undeclaredMultiplier() float64 { return orFloat(c.UndeclaredMultiplier, 1.5) }
func (c *Config) unclassifiedMultiplier() float64 {
	return orFloat(c.UnclassifiedMultiplier, 2)
}
func (c *Config) responseSampleAfter() int64 {
	if c.ResponseSampleAfter <= 0 {
		return 64
	}
	return c.ResponseSampleAfter
}

func (c *Config) responseSampleEvery() int64 {
	if c.ResponseSampleEvery <= 0 {
		return 16
	}
	return c.ResponseSampleEvery
}
func (c *Config) responseSampleQuietEvery() int64 {
	every := c.responseSampleEvery()
	switch {
	case c.ResponseSampleQuietEvery > 0:
		return max(c.ResponseSampleQuietEvery, every)
	case every == 1:
		return 1
	}
	return 4 * every
}

func (c *Config) maxFlows() int          { return orInt(c.MaxFlows, 10000) }
func (c *Config) maxCredentials() int    { return orInt(c.MaxCredentials, 10000) }
func (c *Config) maxFindings() int       { return orInt(c.MaxFindings, 10000) }
func (c *Config) maxClientsPerCred() int { return orInt(c.MaxClientsPerCredential, 256) }
func (c *Config) maxDestsPerCred() int   { return orInt(c.MaxDestinationsPerCredential, 64) }

// Policy lists the data each destination may receive. An entry is a data
// class ("email"), a category ("credential", "pii", "identifier") or "*".
// A vendor's entry overrides its tier's; Default applies to destinations
// with neither; a nil Default means no check for them. Credentials a
// destination issues itself (its Destination.CredentialTypes, or a vendor
// key of its own vendor) are always allowed. Only data sent to external
// destinations in requests is checked.
type Policy struct {
	Tiers   map[string][]string `yaml:"tiers" json:"tiers,omitempty"`
	Vendors map[string][]string `yaml:"vendors" json:"vendors,omitempty"`
	Default []string            `yaml:"default" json:"default,omitempty"`
}

// DefaultPolicy is the policy a deployment gets when it configures none.
// It follows the vendor tiers of the catalog: a critical vendor (your own
// cloud, your identity provider) may receive anything; a trusted one
// personal data and identifiers; a limited one identifiers only; a minimal
// one (analytics, advertising) nothing sensitive at all — the lesson of
// analytics suppliers that leaked their customers' users' names and emails.
// External destinations no vendor is known for may receive nothing either.
// A vendor's own credentials are always allowed to it.
func DefaultPolicy() Policy {
	return Policy{
		Tiers: map[string][]string{
			"critical": {"*"},
			"trusted":  {"pii", "identifier"},
			"limited":  {"identifier"},
			"minimal":  {},
		},
		Default: []string{},
	}
}

// allowed returns whether class (of category cat) may go to d, and whether
// any rule applied at all.
func (p *Policy) allowed(d *Destination, class, cat string) (ok, checked bool) {
	list, found := p.Vendors[d.VendorID]
	if !found || d.VendorID == "" {
		list, found = p.Tiers[d.Tier]
	}
	if !found {
		if p.Default == nil {
			return true, false
		}
		list = p.Default
	}
	for _, e := range list {
		if e == "*" || e == class || e == cat {
			return true, true
		}
	}
	return false, true
}
