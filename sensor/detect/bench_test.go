package detect

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/secret"
)

// restExchange is a typical REST call: a bearer JWT, a ~1 KiB JSON request
// and a small JSON response.
func restExchange() *exchange.Exchange {
	g := newGen(42)
	var body strings.Builder
	body.WriteString(`{"order":{"id":"ord_8f7a6b","currency":"EUR","items":[`)
	for i := 0; i < 8; i++ {
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(`{"sku":"SKU-` + g.digits(6) + `","qty":2,"price":19.99,"title":"Blue cotton t-shirt, size M"}`)
	}
	body.WriteString(`]},"customer":{"id":"cus_` + g.str(14, alnum) + `","name":"Jane Doe","email":"jane.doe@example.com",` +
		`"phone":"+14155552671"},"shipping":{"street":"221B Baker Street","city":"London","country":"GB"},` +
		`"metadata":{"campaign":"spring","ref":"newsletter"}}`)
	return &exchange.Exchange{
		Client:   netip.MustParseAddrPort("10.0.0.5:40000"),
		Server:   netip.MustParseAddrPort("10.0.0.9:8080"),
		Method:   "POST",
		Host:     "orders.internal",
		Path:     "/v1/orders",
		RawQuery: "expand=customer&locale=en-GB",
		Request: exchange.Message{
			Headers: []exchange.Header{
				{Name: "authorization", Value: "Bearer " + g.jwt(`{"iss":"https://idp.example.test","sub":"`+g.uuid()+`","exp":1700003600,"iat":1700000000}`)},
				{Name: "content-type", Value: "application/json"},
				{Name: "user-agent", Value: "shop-web/3.2"},
				{Name: "accept", Value: "application/json"},
			},
			ContentType: "application/json",
			Body:        []byte(body.String()),
		},
		Status: 201,
		Response: exchange.Message{
			Headers:     []exchange.Header{{Name: "content-type", Value: "application/json"}},
			ContentType: "application/json",
			Body:        []byte(`{"id":"ord_8f7a6b","status":"created","total":159.92}`),
		},
	}
}

func BenchmarkScanExchange(b *testing.B) {
	ex := restExchange()
	sc := NewScanner(secret.Key{})
	n := 0
	b.ReportAllocs()
	b.SetBytes(int64(len(ex.Request.Body) + len(ex.Response.Body)))
	for b.Loop() {
		sc.ScanExchange(ex, func(*Match) { n++ })
	}
}

// BenchmarkScanJSONNoMatch measures the cost per body byte when nothing is
// sensitive: the common case.
func BenchmarkScanJSONNoMatch(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("[")
	for sb.Len() < 16<<10 {
		sb.WriteString(`{"sku":"SKU-123456","qty":2,"price":19.99,"title":"Blue cotton t-shirt, size M","tags":["summer","sale"]},`)
	}
	sb.WriteString(`{}]`)
	body := []byte(sb.String())
	sc := NewScanner(secret.Key{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sc.ScanJSON(DirResponse, body, func(*Match) {})
	}
}

func BenchmarkScanText(b *testing.B) {
	body := []byte(strings.Repeat("The quick brown fox jumps over the lazy dog 1234 times; version 1.2.3.\n", 230))
	sc := NewScanner(secret.Key{})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		sc.ScanBody(DirResponse, "text/plain", body, func(*Match) {})
	}
}

// TestScanNoMatchAllocs locks in that a body with nothing sensitive costs
// no allocation.
func TestScanNoMatchAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are checked in the full run without -race")
	}
	body := []byte(`{"items":[{"sku":"SKU-123456","qty":2,"price":19.99,"title":"Blue t-shirt"}],"next":null}`)
	sc := NewScanner(secret.Key{})
	fn := func(*Match) {}
	if n := testing.AllocsPerRun(100, func() { sc.ScanJSON(DirResponse, body, fn) }); n != 0 {
		t.Errorf("ScanJSON with no match: got %v allocs; want 0", n)
	}
	q := "page=2&sort=desc&filter=active"
	if n := testing.AllocsPerRun(100, func() { sc.ScanQuery(DirRequest, q, fn) }); n != 0 {
		t.Errorf("ScanQuery with no match: got %v allocs; want 0", n)
	}
}
