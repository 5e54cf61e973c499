package ocsf

import (
	"errors"
	"hash/fnv"
	"math"
	"strconv"
	"time"

	"github.com/apitap/apitap/sensor/finding"
)

// Version is the OCSF schema version every event declares.
const Version = "1.5.0"

// OCSF class and category ids used by apitap.
const (
	ClassDetectionFinding    = 2004
	ClassDataSecurityFinding = 2006
	ClassAPIActivity         = 6003

	CategoryFindings    = 2
	CategoryApplication = 6
)

// Errors returned by the encoder.
var (
	// ErrRawSecret means an evidence value looks like a live credential; the
	// event is refused rather than shipped.
	ErrRawSecret = errors.New("ocsf: evidence holds what looks like a raw credential")
	// ErrActivity means the activity is not valid for the event kind.
	ErrActivity = errors.New("ocsf: invalid activity for event kind")
)

// Activity is a finding's lifecycle step (OCSF activity_id for 2004/2006).
type Activity int

const (
	ActivityCreate Activity = 1 // first emission of this finding uid
	ActivityUpdate Activity = 2 // the finding was sent before and changed
	ActivityClose  Activity = 3 // the finding is resolved
)

func (a Activity) name() string {
	switch a {
	case ActivityCreate:
		return "Create"
	case ActivityUpdate:
		return "Update"
	case ActivityClose:
		return "Close"
	}
	return "Unknown"
}

// inventoryActivity maps the finding lifecycle onto API Activity's ids.
func (a Activity) inventory() (int, string) {
	switch a {
	case ActivityCreate:
		return 1, "Create"
	case ActivityUpdate:
		return 3, "Update"
	case ActivityClose:
		return 4, "Delete"
	}
	return 0, "Unknown"
}

// Identity names the sensor that emits the events.
type Identity struct {
	VendorName    string // metadata.product.vendor_name; default "apitap"
	SensorVersion string // metadata.product.version; default "dev"
	Hostname      string // device.hostname
	Node          string // device.name; defaults to Hostname
	// Fleet marks the fleet aggregator: log names become apitap.fleet.*.
	Fleet bool
}

// ClassOf returns the OCSF class a finding type is reported as.
func ClassOf(typ string) int {
	if typ == finding.DataPolicyViolation || typ == "data_flow" {
		return ClassDataSecurityFinding
	}
	return ClassDetectionFinding
}

// Endpoint is one row of the API inventory as the analysis reports it.
type Endpoint struct {
	ID         string // stable id, see EndpointID
	Service    string
	Host       string
	Method     string
	Template   string // path template, "/users/{id}"
	SpecStatus string // "documented", "shadow", "zombie" or "" if no spec
	Count      int64  // requests seen
	Errors     int64  // responses with status >= 500
	FirstSeen  time.Time
	LastSeen   time.Time
	// Nodes lists per-node state; only the fleet aggregator sets it, so a
	// fleet row carries what it was merged from (and can be merged again).
	Nodes []NodeState
}

// NodeState is one node's view of a fleet endpoint.
type NodeState struct {
	Node       string `json:"node"`
	SpecStatus string `json:"spec_status"`
	Count      int64  `json:"count"`
	Errors     int64  `json:"errors"`
	LastSeen   int64  `json:"last_seen_time"` // ms since the epoch
}

// EndpointID derives the id of an endpoint from what identifies it. It does
// not include the node, so the same endpoint seen by many sensors has one id
// (and one Kafka partition).
func EndpointID(service, method, template string) string {
	return finding.UID("endpoint", service, method, template)
}

// Vendor is one third-party destination the sensor resolved.
type Vendor struct {
	ID        string // stable id, see VendorID
	Hostname  string
	Vendor    string
	Category  string
	Tier      string
	Declared  bool
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	// Nodes lists per-node state (SpecStatus "declared" or "undeclared");
	// only the fleet aggregator sets it.
	Nodes []NodeState
}

// VendorID derives the id of a vendor destination.
func VendorID(hostname string) string { return finding.UID("vendor", hostname) }

// Encoder appends OCSF events to a buffer. It keeps scratch space between
// calls and is not safe for concurrent use.
type Encoder struct {
	id      Identity
	prefix  []byte // the metadata/device tail shared by every event
	keys    []string
	refused uint64

	logFindings, logInventory string
}

// NewEncoder returns an encoder for one sensor identity.
func NewEncoder(id Identity) *Encoder {
	if id.VendorName == "" {
		id.VendorName = "apitap"
	}
	if id.SensorVersion == "" {
		id.SensorVersion = "dev"
	}
	if id.Node == "" {
		id.Node = id.Hostname
	}
	e := &Encoder{id: id, logFindings: "apitap.findings", logInventory: "apitap.inventory"}
	if id.Fleet {
		e.logFindings, e.logInventory = "apitap.fleet.findings", "apitap.fleet.inventory"
	}
	b := []byte(`"device":{"type_id":0,"type":"Unknown","hostname":`)
	b = appendString(b, id.Hostname)
	b = append(b, `,"name":`...)
	b = appendString(b, id.Node)
	b = append(b, `}`...)
	e.prefix = b
	return e
}

// Refused returns how many events the secret guard refused.
func (e *Encoder) Refused() uint64 { return e.refused }

// AppendFinding appends f as a 2004 or 2006 event and returns the extended
// buffer. now is the event time. On error dst is returned unchanged.
func (e *Encoder) AppendFinding(dst []byte, f *finding.Finding, act Activity, now time.Time) ([]byte, error) {
	if act < ActivityCreate || act > ActivityClose {
		return dst, ErrActivity
	}
	err := checkEvidence(f.Evidence)
	if err == nil && (looksLikeSecret(f.Title) || looksLikeSecret(f.Source) ||
		looksLikeSecret(f.Destination)) {
		err = ErrRawSecret
	}
	if err != nil {
		e.refused++
		return dst, err
	}
	start := len(dst)
	class := ClassOf(f.Type)
	className := "Detection Finding"
	if class == ClassDataSecurityFinding {
		className = "Data Security Finding"
	}
	b := dst
	b = append(b, `{"class_uid":`...)
	b = strconv.AppendInt(b, int64(class), 10)
	b = append(b, `,"class_name":"`...)
	b = append(b, className...)
	b = append(b, `","category_uid":2,"category_name":"Findings","activity_id":`...)
	b = strconv.AppendInt(b, int64(act), 10)
	b = append(b, `,"activity_name":"`...)
	b = append(b, act.name()...)
	b = append(b, `","type_uid":`...)
	b = strconv.AppendInt(b, int64(class*100)+int64(act), 10)
	b = append(b, `,"type_name":"`...)
	b = append(b, className...)
	b = append(b, ": "...)
	b = append(b, act.name()...)
	b = append(b, `","time":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)

	sev := f.Severity
	if sev < finding.SevUnknown || sev > finding.SevCritical {
		sev = finding.SevUnknown
	}
	b = append(b, `,"severity_id":`...)
	b = strconv.AppendInt(b, int64(sev), 10)
	b = append(b, `,"severity":"`...)
	b = append(b, sev.String()...)
	b = append(b, `","status_id":`...)
	if act == ActivityClose {
		b = append(b, `4,"status":"Resolved"`...)
	} else {
		b = append(b, `1,"status":"New"`...)
	}
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, max(f.Count, 1), 10)
	b = append(b, `,"risk_score":`...)
	b = strconv.AppendInt(b, int64(riskScore(f.Risk)), 10)

	b = append(b, `,"finding_info":{"uid":`...)
	b = appendString(b, f.UID)
	b = append(b, `,"title":`...)
	b = appendString(b, f.Title)
	b = append(b, `,"types":[`...)
	b = appendString(b, f.Type)
	b = append(b, `],"first_seen_time":`...)
	b = strconv.AppendInt(b, msOr(f.FirstSeen, now), 10)
	b = append(b, `,"last_seen_time":`...)
	b = strconv.AppendInt(b, msOr(f.LastSeen, now), 10)
	b = append(b, `,"analytic":{"type_id":1,"type":"Rule","name":`...)
	b = appendString(b, f.Type)
	b = append(b, `}}`...)

	b = append(b, `,"evidences":[{`...)
	comma := false
	if f.Source != "" {
		b = append(b, `"src_endpoint":{"name":`...)
		b = appendString(b, f.Source)
		b = append(b, '}')
		comma = true
	}
	if f.Destination != "" {
		if comma {
			b = append(b, ',')
		}
		b = append(b, `"dst_endpoint":{"hostname":`...)
		b = appendString(b, f.Destination)
		b = append(b, '}')
		comma = true
	}
	if comma {
		b = append(b, ',')
	}
	b = append(b, `"data":`...)
	b, err = e.appendObject(b, f.Evidence, 0)
	if err != nil {
		return dst[:start], err
	}
	b = append(b, `}]`...)

	b = e.appendMetadata(b, e.logFindings, f.UID, int64(act), f.LastSeen.UnixMilli(), f.Count)
	return b, nil
}

// AppendEndpoint appends an inventory event for one endpoint.
func (e *Encoder) AppendEndpoint(dst []byte, ep *Endpoint, act Activity, now time.Time) ([]byte, error) {
	id, name := act.inventory()
	if id == 0 {
		return dst, ErrActivity
	}
	b := e.appendInventoryHead(dst, id, name, now)
	b = append(b, `,"api":{"operation":`...)
	b = appendString2(b, ep.Method, " ", ep.Template)
	b = append(b, `,"service":{"name":`...)
	b = appendString(b, ep.Service)
	b = append(b, `}},"dst_endpoint":{"hostname":`...)
	b = appendString(b, ep.Host)
	b = append(b, `},"http_request":{"http_method":`...)
	b = appendString(b, ep.Method)
	b = append(b, `,"url":{"hostname":`...)
	b = appendString(b, ep.Host)
	b = append(b, `,"path":`...)
	b = appendString(b, ep.Template)
	b = append(b, `}},"count":`...)
	b = strconv.AppendInt(b, max(ep.Count, 1), 10)
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, msOr(ep.FirstSeen, now), 10)
	b = append(b, `,"end_time":`...)
	b = strconv.AppendInt(b, msOr(ep.LastSeen, now), 10)
	b = append(b, `,"unmapped":{"apitap":{"kind":"endpoint","id":`...)
	b = appendString(b, ep.ID)
	b = append(b, `,"spec_status":`...)
	b = appendString(b, ep.SpecStatus)
	b = append(b, `,"template":`...)
	b = appendString(b, ep.Template)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, ep.Count, 10)
	b = append(b, `,"errors":`...)
	b = strconv.AppendInt(b, ep.Errors, 10)
	b = appendNodes(b, ep.Nodes)
	b = append(b, `}}`...)
	b = e.appendMetadata(b, e.logInventory, ep.ID, int64(id), ep.LastSeen.UnixMilli(), ep.Count)
	return b, nil
}

// AppendVendor appends an inventory event for one vendor destination.
func (e *Encoder) AppendVendor(dst []byte, v *Vendor, act Activity, now time.Time) ([]byte, error) {
	id, name := act.inventory()
	if id == 0 {
		return dst, ErrActivity
	}
	b := e.appendInventoryHead(dst, id, name, now)
	b = append(b, `,"api":{"operation":"outbound","service":{"name":`...)
	b = appendString(b, v.Vendor)
	b = append(b, `}},"dst_endpoint":{"hostname":`...)
	b = appendString(b, v.Hostname)
	b = append(b, `},"count":`...)
	b = strconv.AppendInt(b, max(v.Count, 1), 10)
	b = append(b, `,"start_time":`...)
	b = strconv.AppendInt(b, msOr(v.FirstSeen, now), 10)
	b = append(b, `,"end_time":`...)
	b = strconv.AppendInt(b, msOr(v.LastSeen, now), 10)
	b = append(b, `,"unmapped":{"apitap":{"kind":"vendor","id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"vendor":`...)
	b = appendString(b, v.Vendor)
	b = append(b, `,"category":`...)
	b = appendString(b, v.Category)
	b = append(b, `,"tier":`...)
	b = appendString(b, v.Tier)
	b = append(b, `,"declared":`...)
	b = strconv.AppendBool(b, v.Declared)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, v.Count, 10)
	b = appendNodes(b, v.Nodes)
	b = append(b, `}}`...)
	b = e.appendMetadata(b, e.logInventory, v.ID, int64(id), v.LastSeen.UnixMilli(), v.Count)
	return b, nil
}

// appendNodes appends the fleet's per-node list; nil appends nothing.
func appendNodes(b []byte, nodes []NodeState) []byte {
	if nodes == nil {
		return b
	}
	b = append(b, `,"nodes":[`...)
	for i := range nodes {
		n := &nodes[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"node":`...)
		b = appendString(b, n.Node)
		b = append(b, `,"spec_status":`...)
		b = appendString(b, n.SpecStatus)
		b = append(b, `,"count":`...)
		b = strconv.AppendInt(b, n.Count, 10)
		b = append(b, `,"errors":`...)
		b = strconv.AppendInt(b, n.Errors, 10)
		b = append(b, `,"last_seen_time":`...)
		b = strconv.AppendInt(b, n.LastSeen, 10)
		b = append(b, '}')
	}
	return append(b, ']')
}

func (e *Encoder) appendInventoryHead(b []byte, id int, name string, now time.Time) []byte {
	b = append(b, `{"class_uid":6003,"class_name":"API Activity","category_uid":6,`+
		`"category_name":"Application Activity","activity_id":`...)
	b = strconv.AppendInt(b, int64(id), 10)
	b = append(b, `,"activity_name":"`...)
	b = append(b, name...)
	b = append(b, `","type_uid":`...)
	b = strconv.AppendInt(b, ClassAPIActivity*100+int64(id), 10)
	b = append(b, `,"type_name":"API Activity: `...)
	b = append(b, name...)
	b = append(b, `","time":`...)
	b = strconv.AppendInt(b, now.UnixMilli(), 10)
	b = append(b, `,"severity_id":1,"severity":"Informational"`...)
	b = append(b, `,"actor":{"app_name":"apitap"},"src_endpoint":{"hostname":`...)
	b = appendString(b, e.id.Hostname)
	b = append(b, '}')
	return b
}

// appendMetadata closes the event with metadata and device. The event uid
// hashes what makes this emission distinct, so a re-send of the same state
// carries the same metadata.uid.
func (e *Encoder) appendMetadata(b []byte, log, uid string, act, lastMs, count int64) []byte {
	h := fnv.New64a()
	var scratch [24]byte
	h.Write([]byte(uid))
	s := strconv.AppendInt(scratch[:0], act, 10)
	s = append(s, '/')
	s = strconv.AppendInt(s, lastMs, 10)
	s = append(s, '/')
	s = strconv.AppendInt(s, count, 10)
	h.Write(s)

	b = append(b, `,"metadata":{"version":"`+Version+`","log_name":"`...)
	b = append(b, log...)
	b = append(b, `","uid":"`...)
	b = appendHex64(b, h.Sum64())
	b = append(b, `","product":{"name":"apitap","vendor_name":`...)
	b = appendString(b, e.id.VendorName)
	b = append(b, `,"version":`...)
	b = appendString(b, e.id.SensorVersion)
	b = append(b, `}},`...)
	b = append(b, e.prefix...)
	b = append(b, '}')
	return b
}

// riskScore maps Finding.Risk onto OCSF's 0..100 integer: values up to 1 are
// read as a fraction, larger ones as a score already.
func riskScore(r float64) int {
	if math.IsNaN(r) || r <= 0 {
		return 0
	}
	if r <= 1 {
		r *= 100
	}
	if r > 100 {
		r = 100
	}
	return int(math.Round(r))
}

func msOr(t, def time.Time) int64 {
	if t.IsZero() {
		return def.UnixMilli()
	}
	return t.UnixMilli()
}

func appendHex64(b []byte, v uint64) []byte {
	const hexd = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, hexd[(v>>uint(i))&0xf])
	}
	return b
}
