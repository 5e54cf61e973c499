package inventory

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/finding"
	"github.com/apitap/apitap/sensor/spec"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type exOpt func(*exchange.Exchange)

func mkEx(method, path string, status int, opts ...exOpt) *exchange.Exchange {
	ex := &exchange.Exchange{
		Start: t0, End: t0.Add(time.Millisecond),
		Client: netip.MustParseAddrPort("10.0.0.9:40000"),
		Server: netip.MustParseAddrPort("10.0.0.1:8080"), Direction: exchange.DirInbound,
		Method: method, Host: "shop.test", Path: path, Status: status,
		Protocol: exchange.ProtoHTTP11,
	}
	ex.Response.ContentType = "application/json"
	ex.Response.Body = []byte(`{"id":1,"name":"x","tags":["a"],"owner":{"email":"e"},"price":1.5}`)
	ex.Response.Bytes = int64(len(ex.Response.Body))
	ex.Request.Headers = []exchange.Header{{Name: "authorization", Value: "Bearer abc.def"}}
	for _, o := range opts {
		o(ex)
	}
	// As the core does for every exchange it emits.
	ex.Auth, ex.Creds = exchange.Credentials(&ex.Request, ex.QueryKeys)
	return ex
}

func client(ip string) exOpt {
	return func(ex *exchange.Exchange) { ex.Client = netip.MustParseAddrPort(ip + ":1234") }
}
func noAuth(ex *exchange.Exchange) { ex.Request.Headers = nil }
func query(keys ...string) exOpt {
	return func(ex *exchange.Exchange) { ex.QueryKeys = keys }
}
func header(name, value string) exOpt {
	return func(ex *exchange.Exchange) {
		ex.Response.Headers = append(ex.Response.Headers, exchange.Header{Name: name, Value: value})
	}
}
func at(d time.Duration) exOpt {
	return func(ex *exchange.Exchange) { ex.Start, ex.End = t0.Add(d), t0.Add(d+time.Millisecond) }
}

func loadShop(t testing.TB) *spec.Set {
	t.Helper()
	set, err := spec.Load("testdata/shop.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func byKey(eps []Endpoint) map[string]Endpoint {
	m := map[string]Endpoint{}
	for _, e := range eps {
		m[e.Method+" "+e.Template] = e
	}
	return m
}

func TestInventoryBasics(t *testing.T) {
	inv := New(Config{}, nil)
	inv.Add(mkEx("GET", "/users/42", 200, client("10.0.0.2"), query("expand")))
	inv.Add(mkEx("GET", "/users/43", 404, client("10.0.0.3"), at(time.Second), noAuth))
	inv.Add(mkEx("GET", "/users/44", 200, client("10.0.0.3"),
		func(ex *exchange.Exchange) {
			ex.Request.Headers = []exchange.Header{{Name: "x-api-key", Value: "k"}}
		}))
	eps := inv.Endpoints()
	if len(eps) != 1 {
		t.Fatalf("endpoints = %d; want 1: %+v", len(eps), eps)
	}
	e := eps[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"template", e.Template, "/users/{userId}"},
		{"params", fmt.Sprint(e.Params), "map[userId:integer]"},
		{"requests", e.Requests, int64(3)},
		{"statuses", fmt.Sprint(e.Statuses), "map[200:2 404:1]"},
		{"clients", e.Clients, 2},
		{"service", e.Service, "10.0.0.1:8080"},
		{"host", e.Host, "shop.test"},
		{"direction", e.Direction, "inbound"},
		{"spec_status", e.SpecStatus, StatusUnspecified},
		{"query", fmt.Sprint(e.QueryParams), "[expand]"},
		{"auth", fmt.Sprint(e.Auth), "[api-key-header bearer none]"},
		{"last_seen", e.LastSeen, t0.Add(time.Second + time.Millisecond)},
		{"response_fields", fmt.Sprint(e.ResponseFields),
			"map[id:integer name:string owner:object owner.email:string price:number tags:array tags[]:string]"},
		{"response types", fmt.Sprint(e.ContentTypes.Response), "[application/json]"},
	}
	for _, c := range checks {
		if fmt.Sprint(c.got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got %v; want %v", c.name, c.got, c.want)
		}
	}
}

func TestAuthSchemes(t *testing.T) {
	tests := []struct {
		name    string
		headers []exchange.Header
		query   []string
		want    string
	}{
		{"none", nil, nil, "[none]"},
		{"basic", []exchange.Header{{Name: "authorization", Value: "Basic dTpw"}}, nil, "[basic]"},
		{"jwt", []exchange.Header{{Name: "authorization",
			Value: "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"}}, nil, "[jwt]"},
		{"api key in query", nil, []string{"page", "api_key"}, "[api-key-query]"},
		{"session cookie", []exchange.Header{{Name: "cookie", Value: "theme=dark; JSESSIONID=1"}},
			nil, "[session-cookie]"},
		{"api key cookie", []exchange.Header{{Name: "cookie", Value: "apikey=1"}}, nil,
			"[api-key-cookie]"},
		{"digest", []exchange.Header{{Name: "authorization", Value: "Digest u=1"}}, nil,
			"[digest]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex := &exchange.Exchange{QueryKeys: tt.query}
			ex.Request.Headers = tt.headers
			ex.Auth, ex.Creds = exchange.Credentials(&ex.Request, ex.QueryKeys)
			if got := fmt.Sprint(authNames(credsOf(ex), ex.Auth, nil)); got != tt.want {
				t.Errorf("authNames = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestSpecStatus(t *testing.T) {
	inv := New(Config{}, loadShop(t))
	inv.Add(mkEx("GET", "/customers", 200, query("limit")))
	inv.Add(mkEx("GET", "/customers/7", 200))
	inv.Add(mkEx("GET", "/legacy/orders", 200))                              // deprecated in spec
	inv.Add(mkEx("GET", "/internal/debug", 200))                             // shadow
	inv.Add(mkEx("GET", "/old/report", 200, header("sunset", "Sat, 1 Jan"))) // zombie by header
	for range 3 {
		inv.Add(mkEx("GET", "/wp-login.php", 404)) // scanner noise
	}
	for range 5 {
		inv.Add(mkEx("GET", "/admin/export", 403)) // many 4xx: passes the guard
	}
	// Another host on the same address has no spec.
	inv.Add(mkEx("GET", "/x", 200, func(ex *exchange.Exchange) { ex.Host = "other.test" }))

	got := map[string]string{}
	for _, e := range inv.Endpoints() {
		got[e.Host+" "+e.Method+" "+e.Template] = e.SpecStatus
	}
	want := map[string]string{
		"shop.test GET /customers":              StatusDocumented,
		"shop.test GET /customers/{customerId}": StatusDocumented,
		"shop.test GET /legacy/orders":          StatusZombie,
		"shop.test GET /internal/debug":         StatusShadow,
		"shop.test GET /old/report":             StatusZombie,
		"shop.test GET /wp-login.php":           StatusUnconfirmed,
		"shop.test GET /admin/export":           StatusShadow,
		"shop.test POST /never/called":          StatusOrphan,
		"other.test GET /x":                     StatusUnspecified,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("statuses:\ngot  %v\nwant %v", got, want)
	}

	var types []string
	for _, f := range inv.Findings() {
		types = append(types, f.Type+" "+f.Evidence["template"].(string))
		if want := finding.UID(f.Type, "10.0.0.1:8080", "GET", f.Evidence["template"].(string)); f.UID != want {
			t.Errorf("finding %s: UID %s; want %s", f.Title, f.UID, want)
		}
	}
	wantF := "[shadow_api /admin/export shadow_api /internal/debug " +
		"zombie_api /legacy/orders zombie_api /old/report]"
	if fmt.Sprint(types) != wantF {
		t.Errorf("findings = %v; want %v", types, wantF)
	}
	for _, e := range inv.Endpoints() {
		if e.SpecStatus == StatusOrphan && e.Requests != 0 {
			t.Errorf("orphan %s has %d requests; want 0", e.Template, e.Requests)
		}
	}
}

func TestDrift(t *testing.T) {
	inv := New(Config{}, loadShop(t))
	inv.Add(mkEx("GET", "/customers", 200, query("limit", "debug")))
	inv.Add(mkEx("GET", "/customers", 500))
	inv.Add(mkEx("GET", "/customers", 200, noAuth))
	inv.Add(mkEx("GET", "/customers", 200, func(ex *exchange.Exchange) {
		ex.Response.ContentType = "text/html"
	}))
	e := byKey(inv.Endpoints())["GET /customers"]
	want := "[missing auth: the spec requires authentication undocumented query parameter: debug " +
		"undocumented response content type: text/html undocumented status: 500]"
	if got := fmt.Sprint(e.Drift); got != want {
		t.Errorf("drift:\ngot  %s\nwant %s", got, want)
	}
	if e := byKey(inv.Endpoints())["GET /customers/{customerId}"]; len(e.Drift) != 0 {
		t.Errorf("orphan drift = %v; want none", e.Drift)
	}
}

func TestMergeEvents(t *testing.T) {
	inv := New(Config{}, nil)
	names := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	var ids []string
	for i, n := range names {
		inv.Add(mkEx("GET", "/users/"+n+"/profile", 200, at(time.Duration(i)*time.Second)))
		if i < len(names)-1 {
			ids = append(ids, endpointID("10.0.0.1:8080", "shop.test", "GET",
				"/users/"+n+"/profile"))
		}
	}
	ev := inv.Events()
	var merge *Event
	creates := 0
	for i := range ev {
		switch ev[i].Kind {
		case EventMerge:
			merge = &ev[i]
		case EventCreate:
			creates++
		}
	}
	if merge == nil {
		t.Fatalf("no merge event in %d events", len(ev))
	}
	if merge.Endpoint.Template != "/users/{user}/profile" || merge.Endpoint.Requests != 8 {
		t.Errorf("merged endpoint = %s with %d requests; want /users/{user}/profile with 8",
			merge.Endpoint.Template, merge.Endpoint.Requests)
	}
	if len(merge.Absorbed) != 8 {
		t.Errorf("absorbed %d ids; want 8", len(merge.Absorbed))
	}
	for _, id := range ids {
		found := false
		for _, a := range merge.Absorbed {
			found = found || a == id
		}
		if !found {
			t.Errorf("merge event does not list absorbed id %s", id)
		}
	}
	if creates != 8 {
		t.Errorf("create events = %d; want 8", creates)
	}
	if len(inv.Events()) != 0 {
		t.Error("Events did not drain the queue")
	}
	// Later siblings land on the merged endpoint.
	inv.Add(mkEx("GET", "/users/zoe/profile", 200))
	eps := inv.Endpoints()
	if len(eps) != 1 || eps[0].Requests != 9 || eps[0].ID != merge.Endpoint.ID {
		t.Errorf("after merge: %d endpoints, first %+v; want 1 with 9 requests, id kept", len(eps), eps[0])
	}
}

// TestPersistenceWithoutAddress: a service known only by its Host (TLS
// read from a library that never touched the socket) is saved and loaded
// back like any other; a state the sensor wrote must always load again.
func TestPersistenceWithoutAddress(t *testing.T) {
	inv := New(Config{}, nil)
	inv.Add(mkEx("GET", "/orders/1", 200, func(ex *exchange.Exchange) {
		ex.Client, ex.Server = netip.AddrPort{}, netip.AddrPort{}
	}))
	before := inv.Endpoints()
	if before[0].Service != "shop.test" {
		t.Fatalf("service %q; want the Host, shop.test", before[0].Service)
	}
	path := filepath.Join(t.TempDir(), "state.zst")
	if err := inv.Save(path); err != nil {
		t.Fatal(err)
	}
	re := New(Config{}, nil)
	if err := re.Load(path); err != nil {
		t.Fatalf("Load of a state Save wrote: %v", err)
	}
	if after := re.Endpoints(); fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("round trip differs:\nbefore %+v\nafter  %+v", before, after)
	}
}

func TestPersistence(t *testing.T) {
	set := loadShop(t)
	inv := New(Config{}, set)
	inv.Add(mkEx("GET", "/customers/1", 200))
	inv.Add(mkEx("GET", "/internal/debug", 200, client("10.0.0.5")))
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		inv.Add(mkEx("GET", "/teams/team"+n, 200))
	}
	before := inv.Endpoints()
	path := filepath.Join(t.TempDir(), "state.zst")
	if err := inv.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := inv.Save(path); err != nil { // overwrite in place
		t.Fatal(err)
	}

	re := New(Config{}, set)
	if err := re.Load(path); err != nil {
		t.Fatal(err)
	}
	after := re.Endpoints()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("round trip differs:\nbefore %+v\nafter  %+v", before, after)
	}
	// A restarted sensor keeps ids and counts, and does not rediscover.
	re.Add(mkEx("GET", "/customers/2", 200))
	re.Add(mkEx("GET", "/teams/teamz", 200))
	for _, ev := range re.Events() {
		if ev.Kind == EventCreate || ev.Kind == EventMerge {
			t.Errorf("after Load: %s event for %s; want none", ev.Kind, ev.Endpoint.Template)
		}
	}
	e := byKey(re.Endpoints())["GET /customers/{customerId}"]
	if e.Requests != 2 || e.ID != byKey(before)["GET /customers/{customerId}"].ID {
		t.Errorf("after Load: requests %d id %s; want 2 and the old id", e.Requests, e.ID)
	}
	if err := New(Config{}, nil).Load(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("Load of a missing file: err = nil")
	}
}

func TestExportOpenAPI(t *testing.T) {
	inv := New(Config{}, nil)
	var exs []*exchange.Exchange
	exs = append(exs,
		mkEx("GET", "/api/v1/orders/17", 200, query("fields")),
		mkEx("POST", "/api/v1/orders", 201, func(ex *exchange.Exchange) {
			ex.Request.ContentType = "application/json"
			ex.Request.Body = []byte(`{"items":[{"sku":"a","qty":2}],"note":null}`)
			ex.Request.Bytes = int64(len(ex.Request.Body))
		}),
		mkEx("GET", "/api/v1/orders/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b/lines", 200),
		mkEx("DELETE", "/api/v1/orders/17", 204, header("deprecation", "true")),
		mkEx("GET", "/files/report.csv", 200, func(ex *exchange.Exchange) {
			ex.Response.ContentType = "text/csv"
		}),
	)
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		exs = append(exs, mkEx("GET", "/users/user"+n+"/profile", 200))
	}
	for _, ex := range exs {
		inv.Add(ex)
	}
	doc, buf := exportValid(t, inv)
	if doc.Paths.Find("/api/v1/orders/{orderId}") == nil {
		t.Errorf("export lacks /api/v1/orders/{orderId}:\n%s", buf.String())
	}

	// Loaded back as a spec, the export documents everything it saw.
	re := reloaded(t, buf.Bytes(), exs)
	for _, e := range re.Endpoints() {
		switch e.SpecStatus {
		case StatusDocumented, StatusZombie:
		default:
			t.Errorf("round trip: %s %s is %s; want documented", e.Method, e.Template, e.SpecStatus)
		}
	}
}

// TestExportServersAndSecurity: with two services, each path names the
// servers that served it, so that the export loaded back documents a path
// for its own service only; and the credentials callers sent become
// security schemes and requirements.
func TestExportServersAndSecurity(t *testing.T) {
	onB := func(ex *exchange.Exchange) {
		ex.Server = netip.MustParseAddrPort("10.0.0.2:9090")
		ex.Host = "billing.test"
	}
	withHeader := func(name, value string) exOpt {
		return func(ex *exchange.Exchange) {
			ex.Request.Headers = []exchange.Header{{Name: name, Value: value}}
		}
	}
	exs := []*exchange.Exchange{
		mkEx("GET", "/orders/17", 200), // Bearer, mkEx's default
		mkEx("GET", "/orders/18", 200, noAuth),
		mkEx("GET", "/invoices/3", 200, onB, withHeader("authorization", "Basic dTpw")),
		mkEx("GET", "/invoices/4", 200, onB, query("api_key"), noAuth),
		mkEx("POST", "/login", 200, noAuth),
		mkEx("POST", "/login", 200, onB, withHeader("authorization",
			"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln")),
	}
	inv := New(Config{}, nil)
	for _, ex := range exs {
		inv.Add(ex)
	}
	doc, buf := exportValid(t, inv)
	urls := func(list openapi3.Servers) string {
		var out []string
		for _, s := range list {
			out = append(out, s.URL)
		}
		return fmt.Sprint(out)
	}
	for path, want := range map[string]string{
		"/orders/{orderId}":     "[http://shop.test:8080]",
		"/invoices/{invoiceId}": "[http://billing.test:9090]",
		"/login":                "[http://billing.test:9090 http://shop.test:8080]",
	} {
		item := doc.Paths.Find(path)
		if item == nil {
			t.Fatalf("export lacks %s:\n%s", path, buf.String())
		}
		if got := urls(item.Servers); got != want {
			t.Errorf("%s servers = %s; want %s", path, got, want)
		}
	}
	sec := func(path, method string) string {
		var out []string
		for _, req := range *doc.Paths.Find(path).GetOperation(method).Security {
			names := []string{}
			for name := range req {
				names = append(names, name)
			}
			out = append(out, fmt.Sprint(names))
		}
		return fmt.Sprint(out)
	}
	for _, tt := range []struct{ path, method, want string }{
		{"/orders/{orderId}", "GET", "[[bearerAuth] []]"},
		{"/invoices/{invoiceId}", "GET", "[[queryKey_api_key] [basicAuth]]"},
		{"/login", "POST", "[[bearerJWT] []]"},
	} {
		if got := sec(tt.path, tt.method); got != tt.want {
			t.Errorf("%s %s security = %s; want %s", tt.method, tt.path, got, tt.want)
		}
	}
	if got := len(doc.Components.SecuritySchemes); got != 4 {
		t.Errorf("%d security schemes; want 4 (basic, bearer, JWT, query key):\n%s", got,
			buf.String())
	}

	// Loaded back, each service's paths are documented for it alone: the
	// other service calling them is a shadow API.
	re := reloaded(t, buf.Bytes(), exs)
	re.Add(mkEx("GET", "/orders/19", 200, onB))
	for _, e := range re.Endpoints() {
		want := StatusDocumented
		if e.Host == "billing.test" && e.Template == "/orders/{orderId}" {
			want = StatusShadow
		}
		if e.SpecStatus != want {
			t.Errorf("round trip: %s %s %s is %s; want %s", e.Host, e.Method, e.Template,
				e.SpecStatus, want)
		}
	}
}

// exportValid exports inv and checks that kin-openapi loads and validates
// the document.
func exportValid(t *testing.T, inv *Inventory) (*openapi3.T, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	if err := inv.ExportOpenAPI(&buf); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(buf.Bytes())
	if err != nil {
		t.Fatalf("kin-openapi load: %v\n%s", err, buf.String())
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("kin-openapi validate: %v\n%s", err, buf.String())
	}
	return doc, &buf
}

// reloaded is a fresh inventory with the export as its spec, fed exs.
func reloaded(t *testing.T, export []byte, exs []*exchange.Exchange) *Inventory {
	t.Helper()
	sp, err := spec.Parse("export.yaml", export)
	if err != nil {
		t.Fatal(err)
	}
	set := spec.NewSet()
	set.Add(sp)
	inv := New(Config{}, set)
	for _, ex := range exs {
		inv.Add(ex)
	}
	return inv
}

func TestSensitivePathRedacted(t *testing.T) {
	inv := New(Config{}, nil)
	inv.Add(mkEx("GET", "/users/alice@example.com/cards/4111111111111111", 200))
	e := inv.Endpoints()[0]
	if e.Path != "/users/{userId}/cards/{cardId}" {
		t.Errorf("path = %q; want values redacted", e.Path)
	}
}

func BenchmarkAdd(b *testing.B) {
	inv := New(Config{}, loadShop(b))
	exs := []*exchange.Exchange{
		mkEx("GET", "/customers/17", 200),
		mkEx("GET", "/api/v2/customers/4711/invoices/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", 200),
		mkEx("GET", "/internal/debug", 200),
	}
	for _, ex := range exs {
		for range 20 { // past the field-sampling budget: steady state
			inv.Add(ex)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, ex := range exs {
			inv.Add(ex)
		}
	}
}

func TestAddAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation count is checked in full runs")
	}
	inv := New(Config{}, loadShop(t))
	exs := []*exchange.Exchange{
		mkEx("GET", "/customers/17", 200),
		mkEx("GET", "/internal/debug/9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", 200),
	}
	for _, ex := range exs {
		for range 20 {
			inv.Add(ex)
		}
		if n := testing.AllocsPerRun(200, func() { inv.Add(ex) }); n != 0 {
			t.Errorf("Add(%s) steady state allocs = %v; want 0", ex.Path, n)
		}
	}
}

// TestUpdateReasons pins the reason of each update event as one endpoint
// sees new statuses, content types, query keys, auth schemes and a
// deprecation header, and that repeats of any of them (the fast paths of
// update) queue nothing.
func TestUpdateReasons(t *testing.T) {
	reqCT := func(ct string) exOpt {
		return func(ex *exchange.Exchange) { ex.Request.ContentType = ct }
	}
	reqHdr := func(name, value string) exOpt {
		return func(ex *exchange.Exchange) {
			ex.Request.Headers = []exchange.Header{{Name: name, Value: value}}
		}
	}
	steps := []struct {
		name string
		ex   *exchange.Exchange
		want string // "" for no event
	}{
		{"first call creates", mkEx("GET", "/orders", 200), ""},
		{"repeat", mkEx("GET", "/orders", 200), ""},
		{"new status", mkEx("GET", "/orders", 503), "status 503"},
		{"known status again", mkEx("GET", "/orders", 200), ""},
		{"request content type", mkEx("GET", "/orders", 200, reqCT("text/plain")),
			"request content type"},
		{"query key and api key", mkEx("GET", "/orders", 200, query("limit"),
			reqHdr("x-api-key", "k")), "query param, auth api-key-header"},
		{"known key, other client", mkEx("GET", "/orders", 200, client("10.0.0.7"),
			reqHdr("x-api-key", "k")), ""},
		{"no credential", mkEx("GET", "/orders", 200, noAuth), "auth none"},
		{"scheme the request names", mkEx("GET", "/orders", 200, reqHdr("authorization", "Digest x")),
			"auth digest"},
		{"same named scheme", mkEx("GET", "/orders", 200, reqHdr("authorization", "Digest y")), ""},
		{"cookie", mkEx("GET", "/orders", 200, reqHdr("cookie", "sid=1; api_key=2")),
			"auth api-key-cookie, auth session-cookie"},
		{"sunset", mkEx("GET", "/orders", 200, header("sunset", "x")), "deprecation header"},
		{"sunset again", mkEx("GET", "/orders", 200, header("sunset", "x")), ""},
	}
	inv := New(Config{}, nil)
	for i, st := range steps {
		inv.Add(st.ex)
		var got string
		for _, e := range inv.Events() {
			if e.Kind == EventUpdate {
				got = e.Reason
			}
		}
		if got != st.want {
			t.Errorf("step %d (%s): update reason %q; want %q", i, st.name, got, st.want)
		}
	}
}
