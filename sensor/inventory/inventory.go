package inventory

import (
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
	"github.com/apitap/apitap/sensor/spec"
	"github.com/apitap/apitap/sensor/template"
)

// Stats counts what the inventory could not keep.
type Stats struct {
	DroppedEndpoints int64 // exchanges for new endpoints past MaxEndpoints
	DroppedEvents    int64 // events past MaxEvents
}

// Inventory accumulates endpoints. It is not safe for concurrent use.
type Inventory struct {
	cfg      Config
	specs    *spec.Set
	tp       *template.Templater
	services map[serviceKey]*service
	count    int // endpoints over all services
	events   []pendingEvent
	stats    Stats
	scratch  []string
	fields   fieldWalker // reused to read JSON bodies' field names
	// recent are the services of the latest exchanges, most recent first:
	// a host talks to few services at a time, and comparing keys is
	// cheaper than hashing one.
	recent [4]*service
}

type serviceKey struct {
	server netip.AddrPort
	host   string // Host header, or the server IP
}

// service is the state of one server address and Host.
type service struct {
	key       serviceKey
	name      string        // server host:port
	doc       *spec.Service // nil when no spec covers it
	collapser *template.Collapser
	ipHost    bool // key.host is the server's IP, the host of exchanges without one
	endpoints map[epKey]*endpoint
	// aliases maps the id of an absorbed endpoint to the one it merged into.
	aliases map[string]string

	// byPath and byShape remember where earlier exchanges went, so that a
	// repeated path skips segment typing (byPath, for paths without
	// parameters, which are the ones that repeat verbatim) and a repeated
	// shape skips collapsing and the template lookup (byShape). Both hold
	// only what the full lookup would return: merge clears them, since it
	// is the only step that removes endpoints or changes what Apply gives.
	byPath  map[string]*pathEndpoints // key: a path without parameters
	byShape map[*template.Shape]*pathEndpoints
	// pathLens has bit len(p)%64 set for every path p in byPath: most
	// paths carry ids, are never in byPath, and this rules out most of
	// them before their bytes are hashed.
	pathLens uint64
}

// pathEndpoints are the endpoints of one literal path or of one interned
// shape, one per method seen; a path is rarely called with more than a few.
// Shapes are shared pointers: a map keyed by one hashes a word, not a
// string, and the method is found by a short scan.
type pathEndpoints [4]*endpoint

// find returns the endpoint of method, or nil.
func (pe *pathEndpoints) find(method string) *endpoint {
	for _, ep := range pe {
		if ep != nil && ep.Method == method {
			return ep
		}
	}
	return nil
}

// put adds ep, unless all slots hold other endpoints: a fifth method of a
// path is looked up the long way.
func (pe *pathEndpoints) put(ep *endpoint) {
	for i := range pe {
		if pe[i] == nil || pe[i] == ep {
			pe[i] = ep
			return
		}
	}
}

type epKey struct{ method, template string }

// maxLookupCache bounds byPath and byShape per service; a full cache is
// cleared, which only costs the full lookups again.
const maxLookupCache = 4096

// endpoint is an Endpoint plus what is needed to keep it up to date.
type endpoint struct {
	Endpoint
	fromSpec   bool
	op         *spec.Operation
	statuses   statusCounts
	clients    clientSet
	lastClient netip.Addr     // the client of the last exchange, already in clients
	lastStatus int            // 1 + the status of the last exchange (in statuses); 0: none
	authKnown  exchange.Creds // kinds (credsOf) named in Auth, or that a full Auth refused
	nonClient  bool           // a non-4xx response was seen
	deprecHdr  bool           // a response carried Deprecation or Sunset
	reqSamples int
	rspSamples int
	drift      map[string]bool
	snap       snapLists // the lists pending events share; see pendingEvent
}

// New returns an empty inventory. specs may be nil.
func New(cfg Config, specs *spec.Set) *Inventory {
	return &Inventory{cfg: cfg, specs: specs, tp: template.NewTemplater(),
		services: map[serviceKey]*service{}}
}

// Stats returns the drop counters.
func (inv *Inventory) Stats() Stats { return inv.stats }

// Add folds one exchange into the inventory. It keeps no reference to ex or
// its slices.
func (inv *Inventory) Add(ex *exchange.Exchange) {
	if ex.Method == "" {
		return
	}
	svc := inv.service(ex)
	if ep := svc.byLiteralPath(ex.Method, ex.Path); ep != nil {
		inv.update(svc, ep, ex)
		return
	}
	var router *template.Router
	if svc.doc != nil {
		router = svc.doc.Router
	}
	shape := inv.tp.Template(ex.Path, router)
	if pe := svc.byShape[shape]; pe != nil {
		if ep := pe.find(ex.Method); ep != nil {
			svc.rememberPath(ex.Path, shape, ep)
			inv.update(svc, ep, ex)
			return
		}
	}
	inv.addNew(svc, ex, shape)
}

// addNew is Add for a path whose shape has not led to an endpoint of its
// method yet: it collapses the template, finds or creates the endpoint and
// caches the way there. It is kept out of Add, which runs for every
// exchange, to keep that one short.
//
//go:noinline
func (inv *Inventory) addNew(svc *service, ex *exchange.Exchange, shape *template.Shape) {
	tmpl := shape.Template
	if !shape.FromSpec {
		tmpl = svc.collapser.Apply(tmpl)
	}

	ep := svc.endpoints[epKey{ex.Method, tmpl}]
	if ep == nil {
		if inv.count >= inv.cfg.maxEndpoints() {
			inv.stats.DroppedEndpoints++
			return
		}
		ep = inv.create(svc, ex, shape, tmpl)
		svc.remember(ex.Path, shape, ep)
		inv.update(svc, ep, ex)
		// The new template may complete a group of siblings; merge after the
		// update so the merge event counts this request too.
		if !shape.FromSpec {
			if r := svc.collapser.Observe(tmpl, svc.hits()); r != nil {
				inv.merge(svc, ex.End, r.Template())
			}
		}
		return
	}
	svc.remember(ex.Path, shape, ep)
	inv.update(svc, ep, ex)
}

// byLiteralPath returns the cached endpoint of a path without parameters,
// or nil.
func (s *service) byLiteralPath(method, path string) *endpoint {
	if s.pathLens&(1<<(len(path)&63)) == 0 {
		return nil
	}
	if pe := s.byPath[path]; pe != nil {
		return pe.find(method)
	}
	return nil
}

// remember caches where path, of the given shape, led. The keys use the
// endpoint's and the shape's own strings, never the exchange's, so that
// the cache keeps no exchange memory alive.
func (s *service) remember(path string, shape *template.Shape, ep *endpoint) {
	pe := s.byShape[shape]
	if pe == nil {
		if len(s.byShape) >= maxLookupCache {
			clear(s.byShape)
		}
		pe = new(pathEndpoints)
		s.byShape[shape] = pe
	}
	pe.put(ep)
	s.rememberPath(path, shape, ep)
}

// rememberPath caches a path without parameters, which is its own
// template: only those repeat verbatim often enough to be worth a key of
// their own.
func (s *service) rememberPath(path string, shape *template.Shape, ep *endpoint) {
	if len(shape.Params) != 0 || shape.Template != path {
		return
	}
	pe := s.byPath[shape.Template]
	if pe == nil {
		if len(s.byPath) >= maxLookupCache {
			clear(s.byPath)
			s.pathLens = 0
		}
		pe = new(pathEndpoints)
		s.byPath[shape.Template] = pe
		s.pathLens |= 1 << (len(path) & 63)
	}
	pe.put(ep)
}

// forget drops the lookup caches; see service.byPath.
func (s *service) forget() {
	clear(s.byPath)
	clear(s.byShape)
	s.pathLens = 0
}

// service finds or creates the state of ex's service.
func (inv *Inventory) service(ex *exchange.Exchange) *service {
	for i, s := range inv.recent {
		if s != nil && s.key.server == ex.Server &&
			(ex.Host == "" && s.ipHost || ex.Host != "" && s.key.host == ex.Host) {
			// Swapped to the front, not shifted: the order only decides
			// which key is compared first, and a swap is two stores.
			if i > 0 {
				inv.recent[0], inv.recent[i] = s, inv.recent[0]
			}
			return s
		}
	}
	return inv.serviceMiss(ex)
}

// serviceMiss is service for a service not among the recent ones.
//
//go:noinline
func (inv *Inventory) serviceMiss(ex *exchange.Exchange) *service {
	host := ex.Host
	if host == "" {
		host = ex.Server.Addr().String()
	}
	s := inv.serviceFor(ex.Server, host, ex.Direction == exchange.DirOutbound)
	copy(inv.recent[1:], inv.recent[:len(inv.recent)-1])
	inv.recent[0] = s
	return s
}

// serviceFor finds or creates a service. outbound services are never
// covered by specs without absolute servers: such a spec describes this
// host's own services, not the remote ones it calls.
func (inv *Inventory) serviceFor(server netip.AddrPort, host string, outbound bool) *service {
	// Keyed by the address itself: formatting it would allocate per call.
	k := serviceKey{server: server, host: host}
	if s := inv.services[k]; s != nil {
		return s
	}
	name, addr := host, ""
	if server.IsValid() {
		name, addr = server.String(), server.Addr().String()
	}
	s := &service{key: k, name: name, endpoints: map[epKey]*endpoint{},
		aliases: map[string]string{}, byPath: map[string]*pathEndpoints{},
		byShape: map[*template.Shape]*pathEndpoints{}, ipHost: host == addr}
	doc := inv.specs.For(host, addr, server.Port())
	if doc != nil && !(outbound && !anyAbsolute(doc)) {
		s.doc = doc
	}
	var router *template.Router
	if s.doc != nil {
		router = s.doc.Router
	}
	s.collapser = template.NewCollapser(inv.cfg.Collapse, router)
	inv.services[k] = s
	return s
}

func anyAbsolute(doc *spec.Service) bool {
	for _, sp := range doc.Specs {
		if sp.Absolute() {
			return true
		}
	}
	return false
}

// hits returns a function that reports requests so far for a template,
// over all methods, for one Collapser.Observe call. A collapse asks for
// every sibling in turn, so the first question totals all templates once
// rather than walking the endpoints per sibling.
func (s *service) hits() func(tmpl string) int64 {
	var totals map[string]int64
	return func(tmpl string) int64 {
		if totals == nil {
			totals = make(map[string]int64, len(s.endpoints))
			for k, ep := range s.endpoints {
				totals[k.template] += ep.Requests
			}
		}
		return totals[tmpl]
	}
}

// endpointID derives the stable id of an endpoint.
func endpointID(service, host, method, tmpl string) string {
	return finding.UID("endpoint", service, host, method, tmpl)
}

func (inv *Inventory) create(svc *service, ex *exchange.Exchange, shape *template.Shape,
	tmpl string) *endpoint {
	ep := &endpoint{
		Endpoint: Endpoint{
			ID:       endpointID(svc.name, svc.key.host, ex.Method, tmpl),
			Service:  svc.name,
			Host:     svc.key.host,
			Method:   ex.Method,
			Path:     template.Redact(ex.Path, shape),
			Template: tmpl,
			Params:   map[string]string{},
		},
		fromSpec: shape.FromSpec,
		drift:    map[string]bool{},
	}
	if tmpl == shape.Template {
		for _, p := range shape.Params {
			ep.Params[p.Name] = p.Type
		}
	} else {
		inv.paramsFromTemplate(ep, shape)
	}
	if svc.doc != nil {
		ep.op = svc.doc.Operation(ex.Method, tmpl)
	}
	svc.endpoints[epKey{ex.Method, tmpl}] = ep
	inv.count++
	inv.emit(Event{Kind: EventCreate, Time: ex.End}, ep, svc)
	return ep
}

// paramsFromTemplate fills Params for a collapsed template: typed
// parameters keep their type, collapsed ones are strings.
func (inv *Inventory) paramsFromTemplate(ep *endpoint, shape *template.Shape) {
	typed := map[string]string{}
	if shape != nil {
		for _, p := range shape.Params {
			typed[p.Name] = p.Type
		}
	}
	for _, seg := range template.Segments(ep.Template) {
		if !template.IsParam(seg) {
			continue
		}
		name := strings.Trim(seg, "{}")
		if t, ok := typed[name]; ok {
			ep.Params[name] = t
		} else if _, ok := ep.Params[name]; !ok {
			ep.Params[name] = "string"
		}
	}
}

// update folds ex into ep.
//
// It runs for every exchange, and nearly every exchange repeats what its
// endpoint has seen. What only something new needs (a new status or
// client, event reasons, body samples) sits in functions of its own, so
// that the common path is short in code as well as in instructions: it
// runs between the parsing core's steps and evicts less of their code
// from the instruction cache.
func (inv *Inventory) update(svc *service, ep *endpoint, ex *exchange.Exchange) {
	var changed []string
	ep.Requests++
	if ep.FirstSeen.IsZero() || ex.Start.Before(ep.FirstSeen) {
		ep.FirstSeen = ex.Start
	}
	if ex.End.After(ep.LastSeen) {
		ep.LastSeen = ex.End
	}
	// Most calls repeat the status of the call before; only a different
	// one can be new to the map.
	if ex.Status+1 != ep.lastStatus {
		changed = newStatus(ep, ex.Status, changed)
	}
	ep.statuses.add(ex.Status, 1)
	if ex.Status != 0 && (ex.Status < 400 || ex.Status >= 500) {
		ep.nonClient = true
	}
	// Keep-alive clients call one endpoint many times in a row: remember
	// the last one and skip the set for it.
	if c := ex.Client.Addr(); c != ep.lastClient {
		ep.lastClient = c
		// Look up before inserting: with many clients per endpoint nearly
		// every call comes from a known one, and a lookup is cheaper than
		// an assignment that finds the key already there.
		if !ep.clients.has(c) {
			inv.newClient(ep, c)
		}
	}
	ep.Direction = ex.Direction.String()

	if add(&ep.ContentTypes.Request, ex.Request.ContentType, 16) {
		changed = append(changed, "request content type")
	}
	if ex.Status != 0 && add(&ep.ContentTypes.Response, ex.Response.ContentType, 16) {
		changed = append(changed, "response content type")
	}
	for _, k := range ex.QueryKeys {
		if add(&ep.QueryParams, k, inv.cfg.maxQueryParams()) {
			changed = append(changed, "query param")
		}
	}
	// An endpoint's callers send few kinds of credential, each already in
	// Auth after its first call (Auth never loses a member): only a kind
	// without a bit in authKnown needs naming.
	if auth := credsOf(ex); auth&^ep.authKnown != 0 {
		changed = inv.newAuth(ep, ex, auth, changed)
	}
	if !ep.deprecHdr && hasDeprecation(&ex.Response) {
		ep.deprecHdr = true
		changed = append(changed, "deprecation header")
	}

	// Field names from sampled JSON bodies.
	if n := inv.cfg.fieldSamples(); ep.reqSamples < n && len(ex.Request.Body) > 0 ||
		ep.rspSamples < n && len(ex.Response.Body) > 0 {
		inv.sample(ep, ex)
	}

	if ep.op != nil {
		if inv.checkDrift(ep, ex) {
			changed = append(changed, "drift")
		}
	}
	if len(changed) > 0 && ep.Requests > 1 {
		inv.emitUpdate(svc, ep, ex.End, changed)
	}
}

// newStatus notes a status that differs from the last call's, and appends
// the reason for an event when ep has never answered with it.
//
//go:noinline
func newStatus(ep *endpoint, status int, changed []string) []string {
	ep.lastStatus = status + 1
	if !ep.statuses.has(status) {
		changed = append(changed, "status "+strconv.Itoa(status))
	}
	return changed
}

// newClient adds a client ep has not seen, up to the limit.
//
//go:noinline
func (inv *Inventory) newClient(ep *endpoint, c netip.Addr) {
	if ep.clients.len() < inv.cfg.maxClients() {
		ep.clients.add(c)
	} else {
		ep.ClientsCapped = true
	}
}

// newAuth adds the names of the kinds in auth, ex's credentials, to
// ep.Auth and appends a reason for each new one.
//
//go:noinline
func (inv *Inventory) newAuth(ep *endpoint, ex *exchange.Exchange, auth exchange.Creds,
	changed []string) []string {
	inv.scratch = authNames(auth, ex.Auth, inv.scratch[:0])
	for _, a := range inv.scratch {
		if add(&ep.Auth, a, 16) {
			changed = append(changed, "auth "+a)
		}
	}
	// Each is in Auth now, or Auth is full: either way adding it again
	// changes nothing. Other schemes differ by name, which no bit holds.
	ep.authKnown |= auth &^ exchange.CredOther
	return changed
}

// sample reads field names from ex's JSON bodies while ep still takes
// samples.
//
//go:noinline
func (inv *Inventory) sample(ep *endpoint, ex *exchange.Exchange) {
	if ep.reqSamples < inv.cfg.fieldSamples() && len(ex.Request.Body) > 0 &&
		isJSON(ex.Request.ContentType) {
		ep.reqSamples++
		if ep.RequestFields == nil {
			ep.RequestFields = map[string]string{}
		}
		inv.fields.walk(ex.Request.Body, ep.RequestFields, inv.cfg.maxDepth(), inv.cfg.maxFields())
	}
	if ep.rspSamples < inv.cfg.fieldSamples() && len(ex.Response.Body) > 0 &&
		isJSON(ex.Response.ContentType) {
		ep.rspSamples++
		if ep.ResponseFields == nil {
			ep.ResponseFields = map[string]string{}
		}
		inv.fields.walk(ex.Response.Body, ep.ResponseFields, inv.cfg.maxDepth(), inv.cfg.maxFields())
	}
}

// emitUpdate queues an update event whose reason lists what changed.
//
//go:noinline
func (inv *Inventory) emitUpdate(svc *service, ep *endpoint, at time.Time, changed []string) {
	inv.emit(Event{Kind: EventUpdate, Time: at, Reason: strings.Join(changed, ", ")}, ep, svc)
}

// checkDrift compares ex with the documented operation and reports whether
// a new kind of drift appeared.
func (inv *Inventory) checkDrift(ep *endpoint, ex *exchange.Exchange) bool {
	op := ep.op
	added := false
	note := func(s string) {
		if !ep.drift[s] && len(ep.drift) < 64 {
			ep.drift[s] = true
			added = true
		}
	}
	for _, k := range ex.QueryKeys {
		if !op.DocumentsQuery(k) {
			note("undocumented query parameter: " + k)
		}
	}
	if ex.Status != 0 && !op.DocumentsStatus(ex.Status) {
		note("undocumented status: " + strconv.Itoa(ex.Status))
	}
	if ex.Status != 0 && ex.Response.ContentType != "" && ex.Response.Bytes > 0 &&
		!op.DocumentsResponseType(ex.Response.ContentType) {
		note("undocumented response content type: " + ex.Response.ContentType)
	}
	if ex.Request.ContentType != "" && ex.Request.Bytes > 0 &&
		!op.DocumentsRequestType(ex.Request.ContentType) {
		note("undocumented request content type: " + ex.Request.ContentType)
	}
	if op.AuthRequired && ex.Creds == 0 {
		note("missing auth: the spec requires authentication")
	}
	return added
}

// add appends s to a set kept as a sorted slice, up to max entries, and
// reports whether it was new.
func add(list *[]string, s string, max int) bool {
	if s == "" {
		return false
	}
	// The lists are short and the value is nearly always in them already,
	// often as the very same string (a parser constant), which == spots
	// before comparing bytes; a linear scan beats the binary search then.
	if len(*list) <= 16 {
		for _, v := range *list {
			if v == s {
				return false
			}
		}
	}
	i, found := slices.BinarySearch(*list, s)
	if found || len(*list) >= max {
		return false
	}
	*list = slices.Insert(*list, i, s)
	return true
}

// merge folds every endpoint of svc that the collapse rule now covers into
// the endpoint of the collapsed template, and emits one merge event per
// resulting endpoint.
func (inv *Inventory) merge(svc *service, at time.Time, _ string) {
	type target struct {
		ep       *endpoint
		absorbed []string
	}
	svc.forget()
	targets := map[epKey]*target{}
	for k, ep := range svc.endpoints {
		if ep.fromSpec {
			continue
		}
		nt := svc.collapser.Apply(k.template)
		if nt == k.template {
			continue
		}
		nk := epKey{k.method, nt}
		tg := targets[nk]
		if tg == nil {
			dst := svc.endpoints[nk]
			if dst == nil {
				dst = &endpoint{
					Endpoint: Endpoint{
						ID:      endpointID(svc.name, svc.key.host, k.method, nt),
						Service: svc.name, Host: svc.key.host, Method: k.method,
						Path: ep.Path, Template: nt, Params: map[string]string{},
					},
					drift: map[string]bool{},
				}
				for name, typ := range ep.Params {
					dst.Params[name] = typ
				}
				inv.paramsFromTemplate(dst, nil)
				if svc.doc != nil {
					dst.op = svc.doc.Operation(k.method, nt)
				}
				svc.endpoints[nk] = dst
				inv.count++
			}
			tg = &target{ep: dst}
			targets[nk] = tg
		}
		inv.absorb(tg.ep, ep)
		tg.absorbed = append(tg.absorbed, ep.ID)
		svc.aliases[ep.ID] = tg.ep.ID
		delete(svc.endpoints, k)
		inv.count--
	}
	keys := make([]epKey, 0, len(targets))
	for k := range targets {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].method < keys[j].method })
	for _, k := range keys {
		tg := targets[k]
		sort.Strings(tg.absorbed)
		inv.emit(Event{Kind: EventMerge, Time: at, Absorbed: tg.absorbed}, tg.ep, svc)
	}
}

// absorb adds src's observations to dst.
func (inv *Inventory) absorb(dst, src *endpoint) {
	dst.Requests += src.Requests
	if dst.FirstSeen.IsZero() || (!src.FirstSeen.IsZero() && src.FirstSeen.Before(dst.FirstSeen)) {
		dst.FirstSeen = src.FirstSeen
		dst.Path = src.Path
	}
	if src.LastSeen.After(dst.LastSeen) {
		dst.LastSeen = src.LastSeen
	}
	src.statuses.each(func(code int, n int64) { dst.statuses.add(code, n) })
	src.clients.each(func(a netip.Addr) {
		if dst.clients.len() < inv.cfg.maxClients() {
			dst.clients.add(a)
		} else {
			dst.ClientsCapped = true
		}
	})
	dst.ClientsCapped = dst.ClientsCapped || src.ClientsCapped
	dst.nonClient = dst.nonClient || src.nonClient
	dst.deprecHdr = dst.deprecHdr || src.deprecHdr
	if dst.Direction == "" {
		dst.Direction = src.Direction
	}
	for _, s := range src.ContentTypes.Request {
		add(&dst.ContentTypes.Request, s, 16)
	}
	for _, s := range src.ContentTypes.Response {
		add(&dst.ContentTypes.Response, s, 16)
	}
	for _, s := range src.QueryParams {
		add(&dst.QueryParams, s, inv.cfg.maxQueryParams())
	}
	for _, s := range src.Auth {
		add(&dst.Auth, s, 16)
	}
	dst.RequestFields = mergeFields(dst.RequestFields, src.RequestFields, inv.cfg.maxFields())
	dst.ResponseFields = mergeFields(dst.ResponseFields, src.ResponseFields, inv.cfg.maxFields())
	dst.reqSamples += src.reqSamples
	dst.rspSamples += src.rspSamples
	for d := range src.drift {
		dst.drift[d] = true
	}
}

func mergeFields(dst, src map[string]string, max int) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]string{}
	}
	for k, v := range src {
		if old, ok := dst[k]; !ok && len(dst) < max {
			dst[k] = v
		} else if ok && old != v && old == "null" {
			dst[k] = v
		}
	}
	return dst
}

// emit queues an event with a snapshot of ep; see pendingEvent.
func (inv *Inventory) emit(e Event, ep *endpoint, svc *service) {
	if len(inv.events) >= inv.cfg.maxEvents() {
		inv.stats.DroppedEvents++
		return
	}
	inv.events = append(inv.events, inv.pending(e, svc, ep))
}

// Events returns the pending change events and clears the queue. The caller
// owns the returned slice.
func (inv *Inventory) Events() []Event {
	if len(inv.events) == 0 {
		inv.events = nil
		return nil
	}
	out := make([]Event, len(inv.events))
	for i := range inv.events {
		out[i] = inv.events[i].event()
	}
	inv.events = nil
	return out
}
