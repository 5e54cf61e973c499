package httpparse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// oneMessage collects the first request and response a Conn reports.
type oneMessage struct {
	reqs, resps int
	method      string
	target      string
	status      int
	body        []byte
	bodyBytes   int64
	flags       Flags
	hdr         map[string]string
}

func (o *oneMessage) Request(m *Request) {
	o.reqs++
	if o.reqs == 1 {
		o.method, o.target = m.Method, string(m.Target)
		o.keep(&m.Message)
	}
}

func (o *oneMessage) Response(m *Response) {
	o.resps++
	if o.resps == 1 && o.reqs == 0 {
		o.status = m.Status
		o.keep(&m.Message)
	}
}

func (o *oneMessage) keep(m *Message) {
	o.body = append([]byte(nil), m.Body...)
	o.bodyBytes, o.flags = m.BodyBytes, m.Flags
	o.hdr = map[string]string{}
	for _, h := range m.Headers {
		k := http.CanonicalHeaderKey(string(h.Name))
		if _, ok := o.hdr[k]; !ok {
			o.hdr[k] = string(h.Value)
		}
	}
}

func (o *oneMessage) Event(Event) {}

// parseOne feeds in as one direction of a fresh Conn and closes it.
func parseOne(in []byte) *oneMessage {
	o := &oneMessage{}
	c := NewConn(nil, o)
	c.Feed(0, in, epoch)
	c.Close(epoch)
	return o
}

var diffRequests = []string{
	"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
	"GET /p?q=1&r=%20 HTTP/1.0\r\nUser-Agent: x\r\nAccept: */*\r\n\r\n",
	"POST /api HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	"POST /api HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
	"PUT http://h.example/x HTTP/1.1\r\nHost: h.example\r\nContent-Length: 0\r\n\r\n",
	"GET /lf HTTP/1.1\nHost: a\nX-A:   padded   \n\n",
	"DELETE /x HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nContent-Length: 3\r\n\r\nabc",
	"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
	"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n",
	"PATCH /u/1 HTTP/1.1\r\nhost: a\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}",
}

var diffResponses = []string{
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5\r\npedia\r\n0\r\nX-T: 1\r\n\r\n",
	"HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close",
	"HTTP/1.1 500 \r\nContent-Length: 1\r\n\r\nx",
	"HTTP/1.1 302 Found\nLocation: /next\nContent-Length: 0\n\n",
}

// TestDifferentialNetHTTP parses inputs both parsers accept and compares
// what they saw: method, target, status, headers and body.
func TestDifferentialNetHTTP(t *testing.T) {
	for _, in := range diffRequests {
		t.Run("request/"+strings.Fields(in)[0], func(t *testing.T) {
			diffRequest(t, []byte(in), true)
		})
	}
	for _, in := range diffResponses {
		t.Run("response/"+strings.Fields(in)[1], func(t *testing.T) {
			diffResponse(t, []byte(in), true)
		})
	}
}

// diffRequest checks in against http.ReadRequest. With must, net/http
// rejecting it is a test bug; otherwise such inputs are skipped.
func diffRequest(t *testing.T, in []byte, must bool) {
	// Known, intended differences: net/http takes the HTTP/2 preface as a
	// request, and accepts whitespace before the colon, which RFC 9112
	// §5.1 says to reject.
	if bytes.HasPrefix(in, []byte("PRI * HTTP/2.0")) || bytes.Contains(in, []byte(" :")) ||
		bytes.Contains(in, []byte("\t:")) {
		return
	}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
	if err != nil {
		if must {
			t.Fatalf("http.ReadRequest(%q): %v", in, err)
		}
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		if must {
			t.Fatalf("read net/http body of %q: %v", in, err)
		}
		return
	}
	// net/http drops Transfer-Encoding from HTTP/1.0 messages, where RFC
	// 9112 §6.1 says the framing is then faulty: this parser rejects them.
	te10 := req.ProtoMinor == 0 && bytes.Contains(bytes.ToLower(in), []byte("transfer-encoding"))
	if req.ProtoMajor != 1 || req.ProtoMinor > 9 || !tokenNames(req.Header) || te10 {
		return // net/http also takes HTTP/0.x and HTTP/2.0 request lines
	}
	// net/http takes an empty request-target ("CONNECT  HTTP/1.0", two
	// spaces) for CONNECT, where RFC 9112 §3 requires one: rejected here.
	if req.RequestURI == "" {
		return
	}
	got := parseOne(in)
	if got.reqs == 0 {
		t.Fatalf("parse %q: no request; net/http read %s %s", in, req.Method, req.RequestURI)
	}
	if got.method != req.Method || got.target != req.RequestURI {
		t.Errorf("parse %q: got %s %q; want %s %q",
			in, got.method, got.target, req.Method, req.RequestURI)
	}
	compareBody(t, in, got, body)
	for k, v := range req.Header {
		// Folded values differ in whitespace only (net/http keeps a
		// trailing space of an empty continuation; here OWS is trimmed).
		if k == "Host" || got.flags&FlagFolded != 0 {
			continue
		}
		if g, ok := got.hdr[k]; !ok || g != v[0] {
			t.Errorf("parse %q: header %s got %q; want %q", in, k, g, v[0])
		}
	}
}

func diffResponse(t *testing.T, in []byte, must bool) {
	// net/http takes several spaces after the version; RFC 9112 §4 has
	// exactly one, and resynchronisation depends on that shape.
	if len(in) > 9 && in[8] == ' ' && in[9] == ' ' {
		return
	}
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), nil)
	if err != nil {
		if must {
			t.Fatalf("http.ReadResponse(%q): %v", in, err)
		}
		return
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if must {
			t.Fatalf("read net/http body of %q: %v", in, err)
		}
		return
	}
	if resp.StatusCode < 200 || resp.ProtoMajor != 1 || resp.ProtoMinor > 9 || !tokenNames(resp.Header) {
		return // interim responses are events here, not responses
	}
	got := parseOne(in)
	if got.resps == 0 {
		t.Fatalf("parse %q: no response; net/http read %d", in, resp.StatusCode)
	}
	if got.status != resp.StatusCode {
		t.Errorf("parse %q: got status %d; want %d", in, got.status, resp.StatusCode)
	}
	compareBody(t, in, got, body)
}

func compareBody(t *testing.T, in []byte, got *oneMessage, want []byte) {
	t.Helper()
	if len(want) > defaultMaxBodyPrefix {
		want = want[:defaultMaxBodyPrefix]
	}
	if !bytes.Equal(got.body, want) {
		t.Errorf("parse %q: got body %q; want %q", in, got.body, want)
	}
}

// tokenNames reports whether every field name is a token. net/http takes
// some names RFC 9110 §5.1 forbids (with spaces, for one); this parser
// rejects those messages, so they are no basis for comparison.
func tokenNames(h http.Header) bool {
	for k := range h {
		for i := 0; i < len(k); i++ {
			if !tchar[k[i]] {
				return false
			}
		}
	}
	return true
}
