package engine

import (
	"bytes"
	"encoding/binary"
	"strings"

	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/httpparse"
	"github.com/apitap/apitap/sensor/template"
)

// maxHostsPerFlow bounds the distinct Host values remembered for one flow.
const maxHostsPerFlow = 8

// httpConn binds an HTTP parser to its flow and turns what the parser
// reports into exchanges.
type httpConn struct {
	c *conn
	p *httpparse.Conn
}

// maxFreeHTTPConns bounds the parsers kept warm for reuse. A parser's
// buffers grow to fit the traffic it saw; reusing them spares the
// allocator a warm-up on every new connection.
const maxFreeHTTPConns = 256

func (w *Worker) newHTTPConn(c *conn) *httpConn {
	if n := len(w.httpFree); n > 0 {
		h := w.httpFree[n-1]
		w.httpFree = w.httpFree[:n-1]
		h.c = c
		h.p.Reset(h)
		return h
	}
	h := &httpConn{c: c}
	h.p = httpparse.NewConn(&w.http, h)
	h.p.SetScratch(w.scratch)
	return h
}

func (w *Worker) freeHTTPConn(h *httpConn) {
	st := h.p.Stats()
	for r, n := range st.Errors {
		w.httpErrors[r] += n
	}
	h.c = nil
	if len(w.httpFree) < maxFreeHTTPConns {
		w.httpFree = append(w.httpFree, h)
	}
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
// This is where parser views become strings. The strings of one exchange
// are cut from a single allocation, except common names and values, which
// are shared constants, and a repeated Host, which is the flow's kept copy;
// the slices (headers, query keys) are the worker's, reused: the Emitter
// may keep the strings but not the slices.
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
	ex.Direction = c.direction(cd)
	target := req.Target
	host := req.Authority
	// Absolute-form (RFC 9112 §3.2.2): the target carries the authority.
	// Origin-form, nearly every request, starts with '/' and is not searched.
	if len(target) == 0 || target[0] == '/' {
		// origin-form
	} else if i := bytes.Index(target, []byte("://")); i > 0 {
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
	path, query := target, []byte(nil)
	if i := bytes.IndexByte(target, '?'); i >= 0 {
		path, query = target[:i], target[i+1:]
	}
	if i := bytes.IndexByte(path, '#'); i >= 0 {
		path = path[:i]
	}

	// Gather every string's bytes, then make one string of them all.
	a := &w.arena
	a.reset()
	// The flow's last Host and the common media types are strings
	// already: they are reused rather than copied into every exchange.
	hostStr := c.lastHostString(hostOnly(host))
	var hostSpan span
	if hostStr == "" {
		hostSpan = a.putLower(hostOnly(host))
	}
	pathSpan := a.put(path)
	querySpan := a.put(query)
	var reqIdx, respIdx hdrIndex
	reqHeaders := a.headers(&w.reqSpans, req.Headers, &reqIdx)
	var respHeaders []hdrSpan
	if resp != nil {
		respHeaders = a.headers(&w.respSpans, resp.Headers, &respIdx)
	}
	reqCT := a.mediaType(reqIdx.value(req.Headers, reqIdx.contentType))
	var respCT knownSpan
	if resp != nil {
		respCT = a.mediaType(respIdx.value(resp.Headers, respIdx.contentType))
	}
	all := string(a.buf)

	ex.Host = hostStr
	if hostStr == "" {
		ex.Host = hostSpan.of(all)
		c.addHost(a.buf[hostSpan.off:hostSpan.off+hostSpan.n], ex.Host)
	}
	ex.Path = pathSpan.of(all)
	ex.RawQuery = querySpan.of(all)
	ex.QueryKeys = queryKeys(w.queryKeys[:0], ex.RawQuery)
	if ex.QueryKeys != nil {
		// nil means none: keep the grown slice for the next exchange.
		w.queryKeys = ex.QueryKeys
	}
	if resp != nil && resp.Proto == httpparse.ProtoH2C {
		ex.Protocol = exchange.ProtoH2C // an upgraded request answered on stream 1
	}
	if c.decrypted {
		if ex.Protocol == exchange.ProtoH2C {
			ex.Protocol = exchange.ProtoH2 // HTTP/2 inside TLS is h2, not cleartext h2c
		}
		ex.Protocol += exchange.SuffixTLS
	}
	ex.Request.Headers = materialize(&w.reqHeaders, reqHeaders, all)
	fillMessage(&ex.Request, &req.Message, reqCT.of(all))
	if reqIdx.userAgent >= 0 {
		ex.UserAgent = ex.Request.Headers[reqIdx.userAgent].Value
	}
	ex.Auth, ex.Creds = reqIdx.credentials(ex.Request.Headers, ex.QueryKeys)
	if resp != nil {
		ex.Status = resp.Status
		ex.End = resp.End
		ex.Response.Headers = materialize(&w.respHeaders, respHeaders, all)
		fillMessage(&ex.Response, &resp.Message, respCT.of(all))
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
	c.exchanges++
	w.stats.Exchanges++
	w.emit.Exchange(ex)
}

// lastHostString returns the flow's last Host as a string if h, as sent,
// is the same name, and "" if not. Nearly every exchange repeats the last
// one: that is checked against a lower-cased copy inside the conn, not
// against strings held elsewhere in the heap.
func (c *conn) lastHostString(h []byte) string {
	n := int(c.lastHostLen)
	if n == 0 || len(h) != n {
		return ""
	}
	// Names are nearly always sent in lower case: one comparison settles it.
	if string(h) == c.lastHostStr {
		return c.lastHostStr
	}
	for i, b := range h {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != c.lastHost[i] {
			return ""
		}
	}
	return c.lastHostStr
}

// addHost remembers a Host value of the flow, b as lower-cased bytes and s
// as the string. A new name is kept as a string of its own, so that neither
// the flow nor later exchanges hold on to a whole exchange's strings.
func (c *conn) addHost(b []byte, s string) {
	if len(b) == 0 {
		return
	}
	kept := ""
	for _, v := range c.hosts {
		if v == s {
			kept = v
			break
		}
	}
	if kept == "" && len(c.hosts) < maxHostsPerFlow {
		kept = strings.Clone(s)
		c.hosts = append(c.hosts, kept)
	}
	// Only a name kept in hosts is reused, so the fast path never pins an
	// exchange's allocation.
	if kept != "" && len(b) <= len(c.lastHost) {
		c.lastHostLen = uint8(copy(c.lastHost[:], b))
		c.lastHostStr = kept
	} else {
		c.lastHostLen = 0
		c.lastHostStr = ""
	}
}

// direction returns the direction of the flow's exchanges with client
// direction cd, worked out once per flow.
func (c *conn) direction(cd uint8) exchange.Direction {
	if c.dirFor != cd+1 {
		switch {
		case c.decrypted && !c.ends[0].IsValid():
			// A TLS stream without addresses: one end is the probed
			// process (direction 0 is what it wrote), and whether it
			// sent the request says which way the exchange went.
			c.dir = exchange.DirInbound
			if cd == 0 {
				c.dir = exchange.DirOutbound
			}
		default:
			c.dir = c.w.direction(c.ends[cd].Addr(), c.ends[1-cd].Addr())
		}
		c.dirFor = cd + 1
	}
	return c.dir
}

// hdrIndex locates the fields emit reads in a message's header list, found
// while the names are lower-cased rather than by searching again. Each is
// an index in the list, -1 when absent.
type hdrIndex struct {
	contentType, userAgent, authorization, proxyAuthorization, cookie int
	apiKey                                                            bool
}

func (x *hdrIndex) value(hs []httpparse.Header, i int) []byte {
	if i < 0 {
		return nil
	}
	return hs[i].Value
}

// note records the role of a well-known name found at index i; the first of
// each counts, as Message.Header finds the first.
func (x *hdrIndex) note(r hdrRole, i int) {
	var p *int
	switch r {
	case roleContentType:
		p = &x.contentType
	case roleUserAgent:
		p = &x.userAgent
	case roleAuthorization:
		p = &x.authorization
	case roleProxyAuthorization:
		p = &x.proxyAuthorization
	case roleCookie:
		p = &x.cookie
	case roleAPIKey:
		x.apiKey = true
		return
	default:
		return
	}
	if *p < 0 {
		*p = i
	}
}

// credentials is exchange.Credentials on headers indexed by x: only the
// cookie headers are looked at again, and only when there is one.
func (x *hdrIndex) credentials(hs []exchange.Header, qkeys []string) (string, exchange.Creds) {
	var auth string
	var creds exchange.Creds
	if x.authorization >= 0 {
		auth, creds = exchange.AuthorizationHeader(hs[x.authorization].Value)
	}
	if x.proxyAuthorization >= 0 {
		creds |= exchange.CredProxy
	}
	if x.apiKey {
		creds |= exchange.CredAPIKeyHeader
	}
	if len(qkeys) > 0 && exchange.QueryCarriesCredential(qkeys) {
		creds |= exchange.CredAPIKeyQuery
	}
	if x.cookie >= 0 {
		// HTTP/2 clients may split cookies over several fields.
		for i := x.cookie; i < len(hs); i++ {
			if hs[i].Name == "cookie" {
				creds |= exchange.CookieCreds(hs[i].Value)
			}
		}
		if auth == "" {
			auth = exchange.FallbackAuth(creds | exchange.CredCookie)
		}
	} else if auth == "" {
		auth = exchange.FallbackAuth(creds)
	}
	return auth, creds
}

// span locates a string within the exchange's one allocation.
type span struct{ off, n int }

func (s span) of(all string) string { return all[s.off : s.off+s.n] }

// knownSpan is a span or, when s is set, a shared constant.
type knownSpan struct {
	span
	s string
}

func (k knownSpan) of(all string) string {
	if k.s != "" {
		return k.s
	}
	return k.span.of(all)
}

// hdrSpan locates a header's name and value in the arena. A well-known
// name is not copied at all: name holds the shared constant instead.
type hdrSpan struct {
	name, value string
	nameSpan    span
	valueSpan   span
}

// strArena gathers the bytes of an exchange's strings.
type strArena struct{ buf []byte }

func (a *strArena) reset() { a.buf = a.buf[:0] }

func (a *strArena) put(b []byte) span {
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	return span{off, len(b)}
}

func (a *strArena) putLower(b []byte) span {
	off := len(a.buf)
	a.buf = append(a.buf, b...)
	// Fold in place: one append of the whole run is far cheaper than
	// appending byte by byte.
	lowerInto(a.buf[off:], a.buf[off:])
	return span{off, len(b)}
}

// mediaType records the lower-cased media type of a Content-Type value,
// without copying the common ones.
func (a *strArena) mediaType(v []byte) knownSpan {
	v = mediaTypeBytes(v)
	for _, m := range commonMediaTypes {
		if len(v) == len(m) && bytes.EqualFold(v, []byte(m)) {
			return knownSpan{s: m}
		}
	}
	return knownSpan{span: a.putLower(v)}
}

// commonMediaTypes are the media types API traffic mostly carries.
var commonMediaTypes = []string{"application/json", "text/html", "text/plain",
	"application/x-www-form-urlencoded", "application/xml", "application/grpc",
	"multipart/form-data", "application/octet-stream", "application/problem+json",
	"text/xml", "application/x-protobuf", "application/graphql-response+json"}

// headers records a message's headers: names lower-cased, values as sent,
// all into the arena. (Interning common names through a map costs more
// than copying a dozen bytes into the one allocation already being made.)
func (a *strArena) headers(dst *[]hdrSpan, hs []httpparse.Header, x *hdrIndex) []hdrSpan {
	*x = hdrIndex{contentType: -1, userAgent: -1, authorization: -1, proxyAuthorization: -1,
		cookie: -1}
	out := (*dst)[:0]
	var fold [len(wellKnownNames)]byte
	for i, hd := range hs {
		var sp hdrSpan
		// A name short enough to be well known is folded on the stack and
		// looked up first: most names then cost no copy at all. Every
		// name emit looks for is well known, so the same lookup also
		// indexes the header.
		var k *knownName
		if len(hd.Name) < len(fold) {
			k = wellKnownName(lowerInto(fold[:len(hd.Name)], hd.Name))
		}
		if k != nil {
			sp.name = k.name
			x.note(k.role, i)
		} else {
			sp.nameSpan = a.putLower(hd.Name)
		}
		if v := commonValue(hd.Value); v != "" {
			sp.value = v
		} else {
			sp.valueSpan = a.put(hd.Value)
		}
		out = append(out, sp)
	}
	*dst = out
	return out
}

// lowerInto writes b lower-cased into dst, of the same length, and
// returns dst.
func lowerInto(dst, b []byte) []byte {
	n := len(b)
	dst = dst[:n]
	if n >= 8 {
		// Eight bytes at a time, every name of every exchange; the last
		// word overlaps the one before it rather than ending in a byte
		// loop (folding twice changes nothing, so dst may be b).
		le := binary.LittleEndian
		for j := 0; j < n-8; j += 8 {
			le.PutUint64(dst[j:], lower8(le.Uint64(b[j:])))
		}
		le.PutUint64(dst[n-8:], lower8(le.Uint64(b[n-8:])))
		return dst
	}
	for j, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst[j] = c
	}
	return dst
}

// lower8 lower-cases the ASCII letters among the eight bytes of w. Adding
// 0x3f to a byte below 0x80 sets its top bit exactly when it is 'A' or
// above, and adding 0x25 exactly when it is above 'Z'; neither sum carries
// into the next byte. Bytes from 0x80 up are left alone.
func lower8(w uint64) uint64 {
	const ones = 0x0101010101010101
	low := w & (0x7f * ones)
	upper := (low + 0x3f*ones) &^ (low + 0x25*ones) &^ w & (0x80 * ones)
	return w | upper>>2
}

func materialize(dst *[]exchange.Header, hs []hdrSpan, all string) []exchange.Header {
	out := (*dst)[:0]
	for _, h := range hs {
		name := h.name
		if name == "" {
			name = h.nameSpan.of(all)
		}
		value := h.value
		if value == "" {
			value = h.valueSpan.of(all)
		}
		out = append(out, exchange.Header{Name: name, Value: value})
	}
	*dst = out
	if len(out) == 0 {
		return nil
	}
	return out
}

// hdrRole says which field of hdrIndex a well-known name fills.
type hdrRole uint8

const (
	roleNone hdrRole = iota
	roleContentType
	roleUserAgent
	roleAuthorization
	roleProxyAuthorization
	roleCookie
	roleAPIKey
)

// knownName is a lower-cased field name and its role.
type knownName struct {
	name string
	role hdrRole
}

// wellKnownNames are lower-cased field names common enough in API traffic
// that the exchange points at these constants rather than at copies, and
// every name hdrIndex records, grouped by length so that a name is compared
// with a few at most.
var wellKnownNames = func() (t [32][]knownName) {
	add := func(r hdrRole, names ...string) {
		for _, n := range names {
			t[len(n)] = append(t[len(n)], knownName{n, r})
		}
	}
	add(roleContentType, "content-type")
	add(roleUserAgent, "user-agent")
	add(roleAuthorization, "authorization")
	add(roleProxyAuthorization, "proxy-authorization")
	add(roleCookie, "cookie")
	add(roleAPIKey, exchange.APIKeyHeaders()...)
	add(roleNone, "host", "accept", "accept-encoding", "accept-language", "content-length",
		"connection", "set-cookie", "date", "server", "cache-control", "transfer-encoding",
		"content-encoding", "vary", "etag", "last-modified", "location", "origin", "referer",
		"keep-alive", "pragma", "expires", "x-request-id", "x-forwarded-for",
		"x-forwarded-proto", "if-none-match", "access-control-allow-origin",
		"strict-transport-security", "x-content-type-options", "x-frame-options",
		"traceparent", "upgrade")
	return t
}()

// wellKnownName returns the entry equal to a lower-cased name, or nil.
func wellKnownName(name []byte) *knownName {
	if len(name) == 0 || len(name) >= len(wellKnownNames) {
		return nil
	}
	ks := wellKnownNames[len(name)]
	for i := range ks {
		// The first byte rules out most candidates of the same length
		// before a full comparison.
		if ks[i].name[0] == name[0] && string(name) == ks[i].name {
			return &ks[i]
		}
	}
	return nil
}

// commonValues are field values, exactly as sent, that recur in most API
// traffic, grouped by length like wellKnownNames.
var commonValues = func() (t [40][]string) {
	for _, v := range []string{"application/json", "application/json; charset=utf-8",
		"*/*", "chunked", "identity", "gzip", "br", "keep-alive", "close", "no-cache",
		"no-store", "gzip, deflate", "gzip, deflate, br", "gzip, deflate, br, zstd",
		"text/html; charset=utf-8", "text/plain; charset=utf-8", "nosniff", "DENY",
		"SAMEORIGIN", "Accept-Encoding", "Origin", "0", "*", "en-US,en;q=0.9",
		"application/x-www-form-urlencoded", "max-age=0", "websocket", "Upgrade"} {
		t[len(v)] = append(t[len(v)], v)
	}
	return t
}()

// commonValue returns the constant equal to v, or "".
func commonValue(v []byte) string {
	if len(v) == 0 || len(v) >= len(commonValues) {
		return ""
	}
	for _, k := range commonValues[len(v)] {
		if k[0] == v[0] && string(v) == k {
			return k
		}
	}
	return ""
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

func fillMessage(dst *exchange.Message, m *httpparse.Message, contentType string) {
	dst.ContentType = contentType
	dst.Bytes = m.BodyBytes
	// The body is handed over as the parser's view, not a copy: the
	// exchange is emitted inside the parser's callback, while the view is
	// valid, and the Emitter contract forbids keeping it.
	dst.Body = m.Body
	dst.BodyTruncated = m.Flags&httpparse.FlagTruncated != 0
	dst.Encoding = m.Encoding
}

// mediaTypeBytes returns the media type of a Content-Type value, without
// parameters: "application/json; charset=utf-8" → "application/json".
func mediaTypeBytes(v []byte) []byte {
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	return bytes.TrimSpace(v)
}

// hostOnly strips the port and the brackets of an IPv6 literal from a
// Host value, and a trailing dot from a name.
func hostOnly(h []byte) []byte {
	h = bytes.TrimSpace(h)
	if len(h) == 0 {
		return h
	}
	if h[0] == '[' {
		if i := bytes.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
	}
	if i := bytes.LastIndexByte(h, ':'); i >= 0 && bytes.IndexByte(h[:i], ':') < 0 {
		h = h[:i]
	}
	return bytes.TrimSuffix(h, []byte("."))
}

// queryKeys appends the distinct parameter names of a query, in order, to
// dst. Values are never kept.
func queryKeys(dst []string, q string) []string {
	for q != "" {
		var part string
		part, q, _ = strings.Cut(q, "&")
		if part == "" {
			continue
		}
		k, _, _ := strings.Cut(part, "=")
		if k == "" || len(dst) >= 64 {
			continue
		}
		// A name that reads like a value is given as its kind, never
		// echoed: a credential sent as a bare query string ("?k3y...").
		k = template.NameOrKind(k)
		if !contains(dst, k) {
			dst = append(dst, k)
		}
	}
	if len(dst) == 0 {
		return nil
	}
	return dst
}
