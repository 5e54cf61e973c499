package detect

// Data classes. A class string is part of the output contract and never
// changes.
const (
	// Credentials.
	ClassJWT           = "jwt"
	ClassBearerToken   = "bearer_token"
	ClassBasicAuth     = "basic_auth"
	ClassSessionCookie = "session_cookie"
	ClassAWSAccessKey  = "aws_access_key"
	ClassGitHubToken   = "github_token"
	ClassGitHubPAT     = "github_pat"
	ClassStripeKey     = "stripe_key"
	ClassOpenAIKey     = "openai_api_key"
	ClassAnthropicKey  = "anthropic_api_key"
	ClassSlackToken    = "slack_token"
	ClassSlackWebhook  = "slack_webhook"
	ClassGoogleAPIKey  = "google_api_key"
	ClassTwilio        = "twilio"
	ClassSendGridKey   = "sendgrid_api_key"
	ClassNPMToken      = "npm_token"
	ClassGitLabToken   = "gitlab_token"
	ClassHuggingFace   = "huggingface_token"
	ClassShopifyToken  = "shopify_token"
	ClassDigitalOcean  = "digitalocean_token"
	ClassPyPIToken     = "pypi_token"
	ClassGenericSecret = "generic_secret"

	// Personal data.
	ClassEmail         = "email"
	ClassPhone         = "phone"
	ClassPaymentCard   = "payment_card"
	ClassIBAN          = "iban"
	ClassUSSSN         = "us_ssn"
	ClassIPAddress     = "ip_address"
	ClassPersonName    = "person_name"
	ClassStreetAddress = "street_address"
	ClassDateOfBirth   = "date_of_birth"

	// Identifiers.
	ClassUserID      = "user_id"
	ClassAccountID   = "account_id"
	ClassOrgID       = "org_id"
	ClassGeoLocation = "geo_location"
)

// Category groups classes by what a leak of them means.
type Category uint8

const (
	CatCredential Category = iota + 1 // grants access
	CatPII                            // identifies or describes a person
	CatIdentifier                     // links records to a user or tenant
)

// String returns "credential", "pii" or "identifier".
func (c Category) String() string {
	switch c {
	case CatCredential:
		return "credential"
	case CatPII:
		return "pii"
	case CatIdentifier:
		return "identifier"
	}
	return "unknown"
}

// MarshalText makes a Category read as its name in JSON.
func (c Category) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// ClassInfo describes a data class.
type ClassInfo struct {
	Category Category
	// Sensitivity runs from 1 (links records) to 5 (grants access or
	// enables fraud on its own).
	Sensitivity int
	// Vendor is the id of the vendor that issues credentials of this
	// class ("github", "aws", …), or "" for vendor-neutral classes.
	Vendor string
}

var classes = map[string]ClassInfo{
	ClassJWT:           {CatCredential, 4, ""},
	ClassBearerToken:   {CatCredential, 4, ""},
	ClassBasicAuth:     {CatCredential, 5, ""},
	ClassSessionCookie: {CatCredential, 4, ""},
	ClassAWSAccessKey:  {CatCredential, 5, "aws"},
	ClassGitHubToken:   {CatCredential, 5, "github"},
	ClassGitHubPAT:     {CatCredential, 5, "github"},
	ClassStripeKey:     {CatCredential, 5, "stripe"},
	ClassOpenAIKey:     {CatCredential, 5, "openai"},
	ClassAnthropicKey:  {CatCredential, 5, "anthropic"},
	ClassSlackToken:    {CatCredential, 5, "slack"},
	ClassSlackWebhook:  {CatCredential, 4, "slack"},
	ClassGoogleAPIKey:  {CatCredential, 4, "google"},
	ClassTwilio:        {CatCredential, 4, "twilio"},
	ClassSendGridKey:   {CatCredential, 5, "sendgrid"},
	ClassNPMToken:      {CatCredential, 5, "npm"},
	ClassGitLabToken:   {CatCredential, 5, "gitlab"},
	ClassHuggingFace:   {CatCredential, 5, "huggingface"},
	ClassShopifyToken:  {CatCredential, 5, "shopify"},
	ClassDigitalOcean:  {CatCredential, 5, "digitalocean"},
	ClassPyPIToken:     {CatCredential, 5, "pypi"},
	ClassGenericSecret: {CatCredential, 4, ""},

	ClassEmail:         {CatPII, 3, ""},
	ClassPhone:         {CatPII, 3, ""},
	ClassPaymentCard:   {CatPII, 5, ""},
	ClassIBAN:          {CatPII, 4, ""},
	ClassUSSSN:         {CatPII, 5, ""},
	ClassIPAddress:     {CatPII, 2, ""},
	ClassPersonName:    {CatPII, 3, ""},
	ClassStreetAddress: {CatPII, 3, ""},
	ClassDateOfBirth:   {CatPII, 3, ""},

	ClassUserID:      {CatIdentifier, 2, ""},
	ClassAccountID:   {CatIdentifier, 2, ""},
	ClassOrgID:       {CatIdentifier, 2, ""},
	ClassGeoLocation: {CatIdentifier, 2, ""},
}

// Info returns what is known about class; ok is false for an unknown class.
func Info(class string) (info ClassInfo, ok bool) {
	info, ok = classes[class]
	return info, ok
}

// Classes returns every class this package reports, in no particular order.
func Classes() []string {
	out := make([]string, 0, len(classes))
	for c := range classes {
		out = append(out, c)
	}
	return out
}

// Position says which part of a message a match was found in.
type Position uint8

const (
	PosPath Position = iota + 1
	PosQuery
	PosHeader
	PosCookie
	PosBody
)

// String returns "path", "query", "header", "cookie" or "body".
func (p Position) String() string {
	switch p {
	case PosPath:
		return "path"
	case PosQuery:
		return "query"
	case PosHeader:
		return "header"
	case PosCookie:
		return "cookie"
	case PosBody:
		return "body"
	}
	return "unknown"
}

// MarshalText makes a Position read as its name in JSON.
func (p Position) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// InURL reports whether the position is part of the request URL, which ends
// up in access logs, browser history and proxies.
func (p Position) InURL() bool { return p == PosPath || p == PosQuery }

// Direction says whether a match was in the request or the response.
type Direction uint8

const (
	DirRequest Direction = iota + 1
	DirResponse
)

// String returns "request" or "response".
func (d Direction) String() string {
	switch d {
	case DirRequest:
		return "request"
	case DirResponse:
		return "response"
	}
	return "unknown"
}

// MarshalText makes a Direction read as its name in JSON.
func (d Direction) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Match is one sensitive value found. It holds no part of the value beyond
// what secret.Preview allows.
type Match struct {
	Class       string
	Category    Category
	Sensitivity int
	// Vendor is the issuing vendor for vendor-shaped credentials ("" otherwise).
	Vendor    string
	Position  Position
	Direction Direction
	// Key is the name the value sat under: a header or cookie name, a query
	// or form key, or the JSON key (the nearest one, for array elements).
	// Empty for path segments and free text, and when the key does not read
	// like a field name (a key that is itself data is not repeated here).
	Key string
	// Start and End are byte offsets of the value within the scanned part
	// (the path, the raw query, the header value, the body). When the value
	// had to be decoded first (percent or JSON escapes), they span the whole
	// encoded value it was found in.
	Start, End int
	// Fingerprint is the keyed fingerprint of the value (secret.Key).
	Fingerprint string
	// Preview is secret.Preview of the value.
	Preview string
	// JWT holds the decoded claims when Class is ClassJWT, nil otherwise.
	// It points into the Scanner and is valid only during the callback.
	JWT *JWTClaims
}
