package inventory

import "time"

// Spec status values of Endpoint.SpecStatus.
const (
	StatusDocumented  = "documented"
	StatusShadow      = "shadow"
	StatusZombie      = "zombie"
	StatusOrphan      = "orphan"
	StatusUnspecified = "unspecified"
	StatusUnconfirmed = "unconfirmed"
)

// Endpoint is one METHOD template of one service as observed. Its JSON
// field names are the output contract.
type Endpoint struct {
	ID string `json:"id"`
	// Service is the server's address as host:port, or the Host when the
	// address is not known (TLS plaintext from a library that never
	// touched the socket, as in Node.js).
	Service string `json:"service"`
	// Host is the Host header (or :authority), or the server IP when none.
	Host     string `json:"host"`
	Method   string `json:"method"`
	Path     string `json:"path"` // an example concrete path, no query
	Template string `json:"template"`
	// Params maps a path parameter to its type.
	Params     map[string]string `json:"params"`
	SpecStatus string            `json:"spec_status"`
	Requests   int64             `json:"requests"`
	// Statuses maps a status code ("200", or "0" without response) to its
	// count.
	Statuses  map[string]int64 `json:"statuses"`
	FirstSeen time.Time        `json:"first_seen"`
	LastSeen  time.Time        `json:"last_seen"`
	// Clients counts distinct client addresses, exactly up to
	// Config.MaxClients; ClientsCapped says the real number is higher.
	Clients       int          `json:"clients"`
	ClientsCapped bool         `json:"clients_capped,omitempty"`
	Direction     string       `json:"direction"`
	ContentTypes  ContentTypes `json:"content_types"`
	QueryParams   []string     `json:"query_params"`
	// Auth lists the kinds of credential seen (exchange.Creds): none,
	// basic, bearer, jwt, api-key-header, api-key-query, api-key-cookie,
	// session-cookie, proxy, unknown, or another Authorization scheme in
	// lower case.
	Auth []string `json:"auth"`
	// RequestFields and ResponseFields map a JSON field path ("id",
	// "owner.name", "items[].sku") to its type.
	RequestFields  map[string]string `json:"request_fields"`
	ResponseFields map[string]string `json:"response_fields"`
	// Drift lists how traffic departs from the documented operation.
	Drift []string `json:"drift"`
}

// ContentTypes are the media types seen on each side.
type ContentTypes struct {
	Request  []string `json:"request"`
	Response []string `json:"response"`
}

// Event is an inventory change for the pipeline.
type Event struct {
	// Kind is EventCreate, EventUpdate or EventMerge.
	Kind string    `json:"kind"`
	Time time.Time `json:"time"`
	// Endpoint is a snapshot of the endpoint after the change.
	Endpoint Endpoint `json:"endpoint"`
	// Absorbed lists the ids a merge folded into Endpoint.
	Absorbed []string `json:"absorbed,omitempty"`
	// Reason says what changed for an update: "status 500", "drift", ….
	Reason string `json:"reason,omitempty"`
}

// Event kinds.
const (
	EventCreate = "create"
	EventUpdate = "update"
	EventMerge  = "merge"
)
