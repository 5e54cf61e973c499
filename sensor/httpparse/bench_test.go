package httpparse

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// nopHandler counts what it gets, so the work cannot be optimised away.
type nopHandler struct{ n, bytes int }

func (h *nopHandler) Request(m *Request)   { h.n++; h.bytes += len(m.Body) }
func (h *nopHandler) Response(m *Response) { h.n++; h.bytes += len(m.Body) }
func (h *nopHandler) Event(Event)          {}

// restExchange is one round of keep-alive REST traffic: a GET and a POST
// with JSON bodies, as a browser or SDK sends them.
var restReq = fmt.Appendf(nil, "GET /api/v2/users/42?fields=name,email HTTP/1.1\r\n"+
	"Host: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) sdk/1.4\r\n"+
	"Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\n"+
	"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl\r\n"+
	"Cookie: session=abcdef0123456789; theme=dark\r\nConnection: keep-alive\r\n\r\n"+
	"POST /api/v2/orders HTTP/1.1\r\nHost: api.example.com\r\n"+
	"Content-Type: application/json\r\nContent-Length: %d\r\nAccept: application/json\r\n\r\n%s",
	len(orderJSON), orderJSON)

const orderJSON = `{"user":42,"items":[{"sku":"A-100","qty":2},{"sku":"B-7","qty":1}],"coupon":null}`
const userJSON = `{"id":42,"name":"Ada Lovelace","email":"ada@example.com","roles":["admin"]}`

var restResp = fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nDate: Mon, 02 Jan 2025 03:04:05 GMT\r\n"+
	"Content-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n"+
	"Cache-Control: no-store\r\nX-Request-Id: 7f9c2ba4e88f827d616045507605853e\r\n\r\n%s"+
	"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nLocation: /api/v2/orders/9001\r\n"+
	"Content-Length: 31\r\n\r\n"+`{"id":9001,"status":"accepted"}`, len(userJSON), userJSON)

// chunkedResp is a chunked JSON response in several chunks.
var chunkedResp = func() []byte {
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	for i := 0; i < 8; i++ {
		chunk := fmt.Sprintf(`{"event":%d,"payload":"%s"}`+"\n", i, strings.Repeat("x", 100))
		fmt.Fprintf(&b, "%x;seq=%d\r\n%s\r\n", len(chunk), i, chunk)
	}
	b.WriteString("0\r\nX-Checksum: 1234\r\n\r\n")
	return b.Bytes()
}()

var chunkedReq = []byte("GET /stream HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n")

func TestParseAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are not meaningful under -race or -short")
	}
	for _, tc := range []struct {
		name      string
		req, resp []byte
		segment   int // feed in pieces of this size; 0: whole
	}{
		{"keepalive", restReq, restResp, 0},
		{"keepalive in 61-byte segments", restReq, restResp, 61},
		{"chunked", chunkedReq, chunkedResp, 0},
		{"chunked in 7-byte segments", chunkedReq, chunkedResp, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &nopHandler{}
			c := NewConn(nil, h)
			ts := time.Unix(1, 0)
			feed := func() {
				for d, s := range [][]byte{tc.req, tc.resp} {
					for p := s; len(p) > 0; {
						k := len(p)
						if tc.segment > 0 {
							k = min(k, tc.segment)
						}
						c.Feed(Dir(d), p[:k], ts)
						p = p[k:]
					}
				}
			}
			// Warm up: every buffer, including each pending-request slot of
			// the ring, grows once.
			for i := 0; i < 2*defaultMaxPending; i++ {
				feed()
			}
			if got := testing.AllocsPerRun(200, feed); got != 0 {
				t.Errorf("Feed of a keep-alive pair: got %v allocs per run; want 0", got)
			}
			if h.n == 0 {
				t.Fatal("handler saw no messages")
			}
		})
	}
}

func BenchmarkConnKeepAlive(b *testing.B) {
	h := &nopHandler{}
	c := NewConn(nil, h)
	ts := time.Unix(1, 0)
	b.SetBytes(int64(len(restReq) + len(restResp)))
	b.ReportAllocs()
	for b.Loop() {
		c.Feed(0, restReq, ts)
		c.Feed(1, restResp, ts)
	}
	b.ReportMetric(float64(h.n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkConnKeepAliveSegments feeds the same traffic cut in 1448-byte
// segments, as TCP reassembly delivers it.
func BenchmarkConnKeepAliveSegments(b *testing.B) {
	h := &nopHandler{}
	c := NewConn(nil, h)
	ts := time.Unix(1, 0)
	stream := bytes.Repeat(restReq, 16)
	resp := bytes.Repeat(restResp, 16)
	b.SetBytes(int64(len(stream) + len(resp)))
	b.ReportAllocs()
	for b.Loop() {
		for d, s := range [][]byte{stream, resp} {
			for p := s; len(p) > 0; {
				k := min(len(p), 1448)
				c.Feed(Dir(d), p[:k], ts)
				p = p[k:]
			}
		}
	}
}

func BenchmarkChunked(b *testing.B) {
	h := &nopHandler{}
	c := NewConn(nil, h)
	ts := time.Unix(1, 0)
	b.SetBytes(int64(len(chunkedReq) + len(chunkedResp)))
	b.ReportAllocs()
	for b.Loop() {
		c.Feed(0, chunkedReq, ts)
		c.Feed(1, chunkedResp, ts)
	}
}

// h2Conversation builds a prior-knowledge h2c connection with n unary
// request/response streams, encoded with persistent HPACK state.
func h2Conversation(n int) (cli, srv []byte) {
	var cb, sb, hb bytes.Buffer
	cf, sf := http2.NewFramer(&cb, nil), http2.NewFramer(&sb, nil)
	ce, se := hpack.NewEncoder(&hb), hpack.NewEncoder(&hb)
	enc := func(e *hpack.Encoder, kv ...string) []byte {
		hb.Reset()
		for i := 0; i < len(kv); i += 2 {
			e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	cb.WriteString(http2.ClientPreface)
	cf.WriteSettings()
	sf.WriteSettings()
	for i := 0; i < n; i++ {
		id := uint32(2*i + 1)
		cf.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: enc(ce,
			":method", "POST", ":scheme", "http", ":authority", "svc:50051",
			":path", "/pkg.Orders/Create", "content-type", "application/grpc", "te", "trailers")})
		cf.WriteData(id, true, []byte("\x00\x00\x00\x00\x20{\"user\":42,\"sku\":\"A-100\",\"n\":2}"))
		sf.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, BlockFragment: enc(se,
			":status", "200", "content-type", "application/grpc")})
		sf.WriteData(id, false, []byte("\x00\x00\x00\x00\x10{\"id\":9001,\"ok\":1}"))
		sf.WriteHeaders(http2.HeadersFrameParam{StreamID: id, EndHeaders: true, EndStream: true,
			BlockFragment: enc(se, "grpc-status", "0")})
	}
	return cb.Bytes(), sb.Bytes()
}

func BenchmarkH2C(b *testing.B) {
	cli, srv := h2Conversation(100)
	h := &nopHandler{}
	c := NewConn(nil, h)
	ts := time.Unix(1, 0)
	b.SetBytes(int64(len(cli) + len(srv)))
	b.ReportAllocs()
	for b.Loop() {
		c.Reset(h)
		c.Feed(0, cli, ts)
		c.Feed(1, srv, ts)
		c.Close(ts)
	}
	b.ReportMetric(float64(h.n)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkNetHTTPBaseline does the same work as BenchmarkConnKeepAlive
// with net/http's parsers, so the ratio shows in one run.
func BenchmarkNetHTTPBaseline(b *testing.B) {
	b.SetBytes(int64(len(restReq) + len(restResp)))
	b.ReportAllocs()
	rr, sr := bytes.NewReader(restReq), bytes.NewReader(restResp)
	br, bs := bufio.NewReader(rr), bufio.NewReader(sr)
	for b.Loop() {
		rr.Reset(restReq)
		sr.Reset(restResp)
		br.Reset(rr)
		bs.Reset(sr)
		for i := 0; i < 2; i++ {
			req, err := http.ReadRequest(br)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, req.Body)
			resp, err := http.ReadResponse(bs, req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
		}
	}
}
