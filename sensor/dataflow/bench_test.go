package dataflow

import (
	"strings"
	"testing"
)

// BenchmarkExchange measures the analyzer on a typical REST call (a bearer
// credential and a ~1 KiB JSON request body with some personal data) once
// its tables are warm.
func BenchmarkExchange(b *testing.B) {
	fk := newFakes(9)
	var body strings.Builder
	body.WriteString(`{"order":{"id":"ord_1","items":[`)
	for i := 0; i < 8; i++ {
		if i > 0 {
			body.WriteString(",")
		}
		body.WriteString(`{"sku":"SKU-000123","qty":2,"price":19.99,"title":"Blue cotton t-shirt, size M"}`)
	}
	body.WriteString(`]},"customer":{"name":"Jane Doe","email":"jane.doe@example.com","phone":"+14155552671"}}`)
	ex := newEx("api.segment.io", "/v1/orders", header("authorization", "Bearer "+fk.openai()),
		reqJSON(body.String()), respJSON(`{"id":"ord_1","status":"created"}`))
	a := New(Config{}, testKey, resolver)
	a.Exchange(ex)
	b.ReportAllocs()
	b.SetBytes(int64(len(ex.Request.Body) + len(ex.Response.Body)))
	for b.Loop() {
		a.Exchange(ex)
	}
}
