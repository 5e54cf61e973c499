// Package finding defines a finding: something about the traffic a security
// team should look at (a shadow API, an undeclared vendor, a credential in a
// URL). Every analysis package produces them in this one shape so that the
// report, the OCSF encoder and the Kafka sink treat them alike.
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Types of findings. The analysis packages add to this list; a type's
// string is part of the output contract and never changes.
const (
	ShadowAPI               = "shadow_api"
	ZombieAPI               = "zombie_api"
	UndeclaredVendor        = "undeclared_vendor"
	UnclassifiedDestination = "unclassified_destination"
	PlaintextVendor         = "plaintext_vendor"
	VendorCallout           = "vendor_callout"
	CredentialWrongIssuer   = "credential_wrong_issuer"
	CredentialInURL         = "credential_in_url"
	CredentialPlaintext     = "credential_plaintext"
	CredentialNewClient     = "credential_new_client"
	CredentialShared        = "credential_shared"
	JWTWeak                 = "jwt_weak"
	PIIUnauthenticated      = "pii_unauthenticated"
	DataPolicyViolation     = "data_policy_violation"
)

// Severity follows OCSF's severity_id scale.
type Severity int

const (
	SevUnknown Severity = iota
	SevInfo
	SevLow
	SevMedium
	SevHigh
	SevCritical
)

// String returns the OCSF severity caption.
func (s Severity) String() string {
	switch s {
	case SevInfo:
		return "Informational"
	case SevLow:
		return "Low"
	case SevMedium:
		return "Medium"
	case SevHigh:
		return "High"
	case SevCritical:
		return "Critical"
	}
	return "Unknown"
}

// MarshalText makes a severity read as its caption in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(strings.ToLower(s.String())), nil }

// Finding is one thing found, aggregated over every time it was seen.
//
// Evidence must hold no raw secret: credentials appear as fingerprints and
// redacted previews only, and query values not at all.
type Finding struct {
	Type        string         `json:"type"`
	UID         string         `json:"uid"`
	Title       string         `json:"title"`
	Severity    Severity       `json:"severity"`
	Risk        float64        `json:"risk"`
	Source      string         `json:"source,omitempty"` // local service, client or process
	Destination string         `json:"destination"`
	Evidence    map[string]any `json:"evidence,omitempty"`
	FirstSeen   time.Time      `json:"first_seen"`
	LastSeen    time.Time      `json:"last_seen"`
	Count       int64          `json:"count"`
}

// UID derives a finding's stable id from what it is about (its type and the
// parts that identify its subject), never from when it was seen, so that
// re-sending an updated finding lets consumers de-duplicate by id.
func UID(typ string, subject ...string) string {
	h := sha256.New()
	h.Write([]byte(typ))
	for _, s := range subject {
		h.Write([]byte{0})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Merge folds a newer sighting of the same finding into f.
func (f *Finding) Merge(o *Finding) {
	if o.FirstSeen.Before(f.FirstSeen) || f.FirstSeen.IsZero() {
		f.FirstSeen = o.FirstSeen
	}
	if o.LastSeen.After(f.LastSeen) {
		f.LastSeen = o.LastSeen
	}
	f.Count += o.Count
	if o.Risk > f.Risk {
		f.Risk = o.Risk
	}
	if o.Severity > f.Severity {
		f.Severity = o.Severity
	}
}
