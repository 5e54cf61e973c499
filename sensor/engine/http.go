package engine

import (
	"bytes"
	"strings"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/httpparse"
)

// maxHostsPerFlow bounds the distinct Host values remembered for one flow.
const maxHostsPerFlow = 8

// httpConn binds an HTTP parser to its flow and turns what the parser
// reports into exchanges.
type httpConn struct {
	c *conn
	p *httpparse.Conn
}

func (w *Worker) newHTTPConn(c *conn) *httpConn {
	h := &httpConn{c: c}
	h.p = httpparse.NewConn(&w.http, h)
	return h
}

func (w *Worker) freeHTTPConn(h *httpConn) {
	st := h.p.Stats()
	for r, n := range st.Errors {
		w.httpErrors[r] += n
	}
	h.c = nil
}

// Request implements httpparse.Handler. Requests become exchanges when
// their response arrives, or when the parser gives up waiting for one.
func (h *httpConn) Request(*httpparse.Request) {}

// Response implements httpparse.Handler.
func (h *httpConn) Response(m *httpparse.Response) {
	if m.Request == nil {
		h.c.w.stats.Orphans++
		return
	}
	if m.Status == 101 && upgradesToH2C(&m.Request.Message) {
		// The answer to this request comes on HTTP/2 stream 1 (RFC 7540
		// §3.2), and the parser pairs it then: report the exchange once,
		// with its real response.
		return
	}
	h.emit(m.Request, m)
}

// Event implements httpparse.Handler.
func (h *httpConn) Event(e httpparse.Event) {
	switch e.Kind {
	case httpparse.EventNoResponse:
		if e.Request != nil {
			h.c.w.stats.Unanswered++
			h.emit(e.Request, nil)
		}
	case httpparse.EventUpgrade, httpparse.EventTunnel:
		h.c.w.stats.Upgrades++
	case httpparse.EventH2C:
		h.c.w.stats.H2C++
		h.c.h2c = true
	}
}

// emit builds the exchange for a request and its response (nil if none).
// This is where parser views become strings: one allocation set per
// exchange, none per packet.
func (h *httpConn) emit(req *httpparse.Request, resp *httpparse.Response) {
	c, w := h.c, h.c.w
	cd := c.clientDir()
	if d, ok := h.p.ClientDir(); ok {
		cd = uint8(d)
	}
	ex := &w.ex
	*ex = exchange.Exchange{
		Start:    req.Start,
		End:      req.End,
		Client:   c.ends[cd],
		Server:   c.ends[1-cd],
		Protocol: req.Proto,
		Method:   req.Method,
		Process:  c.proc,
	}
	ex.Direction = w.direction(ex.Client.Addr(), ex.Server.Addr())
	target := req.Target
	host := req.Authority
	// Absolute-form (RFC 9112 §3.2.2): the target carries the authority.
	if i := bytes.Index(target, []byte("://")); i > 0 && target[0] != '/' {
		rest := target[i+3:]
		j := bytes.IndexAny(rest, "/?")
		if j < 0 {
			j = len(rest)
		}
		if len(host) == 0 {
			host = rest[:j]
		}
		target = rest[j:]
		if len(target) == 0 {
			target = []byte("/")
		}
	}
	ex.Host = normalizeHost(host)
	path, query := target, []byte(nil)
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		path, query = target[:i], target[i+1:]
	}
	if i := bytes.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}
	ex.Path = string(path)
	if len(query) > 0 {
		ex.RawQuery = string(query)
		ex.QueryKeys = queryKeys(ex.RawQuery)
	}
	if resp != nil && resp.Proto == httpparse.ProtoH2C {
		ex.Protocol = exchange.ProtoH2C // an upgraded request answered on stream 1
	}
	if c.decrypted {
		ex.Protocol += exchange.SuffixTLS
	}
	fillMessage(&ex.Request, &req.Message)
	ex.UserAgent = headerString(&req.Message, "user-agent")
	ex.Auth = authScheme(&req.Message, ex.QueryKeys)
	if resp != nil {
		ex.Status = resp.Status
		ex.End = resp.End
		fillMessage(&ex.Response, &resp.Message)
		if resp.Flags&httpparse.FlagGap != 0 {
			ex.Flags |= exchange.FlagResponseGap
		}
		if resp.Flags&httpparse.FlagUpgrade != 0 {
			ex.Flags |= exchange.FlagUpgrade
		}
	} else {
		ex.Flags |= exchange.FlagNoResponse
	}
	if req.Flags&httpparse.FlagGap != 0 {
		ex.Flags |= exchange.FlagRequestGap
	}
	if ex.Host != "" && len(c.hosts) < maxHostsPerFlow && !contains(c.hosts, ex.Host) {
		c.hosts = append(c.hosts, ex.Host)
	}
	c.exchanges++
	w.stats.Exchanges++
	w.emit.Exchange(ex)
}

// upgradesToH2C reports whether a request asked to switch to h2c.
func upgradesToH2C(m *httpparse.Message) bool {
	v, ok := m.Header("upgrade")
	return ok && bytes.Contains(bytes.ToLower(v), []byte("h2c"))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func fillMessage(dst *exchange.Message, m *httpparse.Message) {
	if len(m.Headers) > 0 {
		dst.Headers = make([]exchange.Header, len(m.Headers))
		for i, hd := range m.Headers {
			dst.Headers[i] = exchange.Header{Name: lowerString(hd.Name), Value: string(hd.Value)}
		}
	}
	dst.ContentType = mediaType(m.ContentType())
	dst.Bytes = m.BodyBytes
	// The body is handed over as the parser's view, not a copy: the
	// exchange is emitted inside the parser's callback, while the view is
	// valid, and the Emitter contract forbids keeping it.
	dst.Body = m.Body
	dst.BodyTruncated = m.Flags&httpparse.FlagTruncated != 0
	dst.Encoding = m.Encoding
}

func headerString(m *httpparse.Message, name string) string {
	v, ok := m.Header(name)
	if !ok {
		return ""
	}
	return string(v)
}

// mediaType returns the media type of a Content-Type value, lower case and
// without parameters: "application/json; charset=utf-8" → "application/json".
func mediaType(v []byte) string {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return ""
	}
	return lowerString(v)
}

// knownLower interns the header names that nearly every message carries,
// so that naming them costs no allocation.
var knownLower = map[string]string{}

func init() {
	for _, n := range []string{"host", "user-agent", "accept", "accept-encoding",
		"accept-language", "content-type", "content-length", "connection", "cookie",
		"set-cookie", "authorization", "date", "server", "cache-control", "etag",
		"transfer-encoding", "content-encoding", "vary", "last-modified", "expires",
		"referer", "origin", "x-forwarded-for", "x-request-id", "location", "pragma",
		"keep-alive", "x-api-key", "upgrade", "if-none-match", "if-modified-since",
		":method", ":path", ":authority", ":scheme", ":status", "te", "grpc-encoding",
		"grpc-status", "grpc-message", "grpc-accept-encoding", "access-control-allow-origin"} {
		knownLower[n] = n
	}
}

// lowerString returns b in ASCII lower case as a string.
func lowerString(b []byte) string {
	var buf [64]byte
	if len(b) <= len(buf) {
		l := buf[:len(b)]
		for i, ch := range b {
			if 'A' <= ch && ch <= 'Z' {
				ch += 'a' - 'A'
			}
			l[i] = ch
		}
		if s, ok := knownLower[string(l)]; ok {
			return s
		}
		return string(l)
	}
	return strings.ToLower(string(b))
}

// normalizeHost lower-cases a Host value and removes its port and the
// brackets of an IPv6 literal.
func normalizeHost(h []byte) string {
	h = bytes.TrimSpace(h)
	if len(h) == 0 {
		return ""
	}
	if h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			return lowerString(h[1:i])
		}
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h[:i], ':') < 0 {
		h = h[:i]
	}
	h = bytes.TrimSuffix(h, []byte("."))
	return lowerString(h)
}

// queryKeys returns the distinct parameter names of a query, in order.
// Values are never kept.
func queryKeys(q string) []string {
	var keys []string
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if k == "" || len(keys) >= 64 {
			continue
		}
		if !contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// apiKeyHeaders are header names that carry an API key by convention.
var apiKeyHeaders = []string{"x-api-key", "api-key", "apikey", "x-auth-token",
	"x-access-token", "x-apikey", "x-goog-api-key", "ocp-apim-subscription-key",
	"x-functions-key", "private-token", "x-token"}

// queryCredentialKeys are query parameter names that carry a credential.
var queryCredentialKeys = []string{"api_key", "apikey", "api-key", "access_token",
	"token", "key", "auth", "sig", "signature", "client_secret", "password", "x-api-key"}

// authScheme names the credential a request carries: the Authorization
// scheme ("basic", "bearer", …), "api-key" for a key header, "cookie" for
// a session cookie, "query" for a credential in the query string.
func authScheme(m *httpparse.Message, qkeys []string) string {
	if v, ok := m.Header("authorization"); ok && len(v) > 0 {
		scheme := v
		if i := bytes.IndexByte(v, ' '); i > 0 {
			scheme = v[:i]
		}
		return lowerString(scheme)
	}
	if _, ok := m.Header("proxy-authorization"); ok {
		return "proxy"
	}
	for _, n := range apiKeyHeaders {
		if _, ok := m.Header(n); ok {
			return "api-key"
		}
	}
	for _, k := range qkeys {
		lk := strings.ToLower(k)
		for _, n := range queryCredentialKeys {
			if lk == n {
				return "query"
			}
		}
	}
	if _, ok := m.Header("cookie"); ok {
		return "cookie"
	}
	return ""
}

var _ = time.Time{}
