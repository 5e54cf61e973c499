// Package synth writes large, realistic, deterministic captures for
// benchmarks: keep-alive REST traffic between many clients and a few API
// servers, with JSON bodies, ids in paths, credentials in headers, chunked
// and fixed-length responses, interleaved across connections the way a
// busy host's capture is.
//
// The same Options always produce the same bytes, so benchmark runs compare
// like with like. The credentials it writes are fabricated and shaped to be
// obviously fake.
package synth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand"
	"net/netip"
	"strconv"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

// Options shape a capture. The zero value gives about 300 MB.
type Options struct {
	// Connections is how many client connections run. Default 300.
	Connections int
	// TargetBytes is the approximate capture size. Default 320 MB.
	TargetBytes int64
	// Seed makes the traffic; the same seed, the same capture. Default 1.
	Seed int64
	// MSS is the largest TCP payload per packet. Default 1448.
	MSS int
	// TLSPercent is the share of connections, in percent, that carry TLS
	// to a vendor (a ClientHello, then opaque records) instead of plain
	// HTTP. Default 0.
	TLSPercent int
}

func (o *Options) defaults() {
	if o.Connections <= 0 {
		o.Connections = 300
	}
	if o.TargetBytes <= 0 {
		o.TargetBytes = 320 << 20
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MSS <= 0 {
		o.MSS = 1448
	}
}

// Stats says what a capture holds, for checking what a parser found.
type Stats struct {
	Packets   int
	Bytes     int64
	Exchanges int
}

type tcpConn struct {
	client, server netip.AddrPort
	cseq, sseq     uint32
	ops            int // exchanges done
	open           bool
	tls            bool
	host           string
	auth           string // the credential header this client sends, per connection
}

type writer struct {
	w     *pcapgo.Writer
	rng   *rand.Rand
	now   time.Time
	buf   []byte
	stats Stats
	mss   int
}

// Write writes a capture to w and returns what it holds.
func Write(w io.Writer, opts Options) (Stats, error) {
	opts.defaults()
	bw := bufio.NewWriterSize(w, 1<<20)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return Stats{}, err
	}
	g := &writer{w: pw, rng: rand.New(rand.NewSource(opts.Seed)),
		now: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), mss: opts.MSS}
	servers := []netip.AddrPort{
		netip.MustParseAddrPort("10.0.0.10:8080"),
		netip.MustParseAddrPort("10.0.0.11:80"),
		netip.MustParseAddrPort("10.0.0.12:9000"),
	}
	conns := make([]*tcpConn, opts.Connections)
	for i := range conns {
		conns[i] = &tcpConn{
			client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i / 250), byte(1 + i%250)}),
				uint16(30000+i)),
			server: servers[i%len(servers)],
			cseq:   g.rng.Uint32(),
			sseq:   g.rng.Uint32(),
		}
		if g.rng.Intn(100) < opts.TLSPercent {
			c := conns[i]
			c.tls = true
			c.host = vendorHosts[i%len(vendorHosts)]
			// Vendors answer from public addresses (documentation ranges).
			c.server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + i%250)}), 443)
		}
	}
	var err error
	for g.stats.Bytes < opts.TargetBytes && err == nil {
		c := conns[g.rng.Intn(len(conns))]
		if !c.open {
			err = g.handshake(c)
			continue
		}
		err = g.exchange(c)
		// Clients recycle their connection now and then, as pools do.
		if err == nil && c.ops > 200+g.rng.Intn(400) {
			err = g.close(c)
			c.client = netip.AddrPortFrom(c.client.Addr(), c.client.Port()+uint16(len(conns)))
			if c.client.Port() < 30000 {
				c.client = netip.AddrPortFrom(c.client.Addr(), 30000)
			}
		}
	}
	for _, c := range conns {
		if c.open && err == nil {
			err = g.close(c)
		}
	}
	if err == nil {
		err = bw.Flush()
	}
	return g.stats, err
}

func (g *writer) handshake(c *tcpConn) error {
	c.open, c.ops = true, 0
	// A client keeps its credential for the life of its connection, as
	// SDKs and browsers do.
	c.auth = "Authorization: Bearer fake." + g.hex(40) + "\r\n"
	if g.rng.Intn(5) == 0 {
		c.auth = "X-Api-Key: fake_" + g.hex(32) + "\r\n"
	}
	if err := g.packet(c.client, c.server, c.cseq, 0, synFlag, nil); err != nil {
		return err
	}
	if err := g.packet(c.server, c.client, c.sseq, c.cseq+1, synFlag|ackFlag, nil); err != nil {
		return err
	}
	c.cseq++
	c.sseq++
	if err := g.packet(c.client, c.server, c.cseq, c.sseq, ackFlag, nil); err != nil {
		return err
	}
	if c.tls {
		return g.send(c.client, c.server, &c.cseq, c.sseq, g.clientHello(c.host))
	}
	return nil
}

func (g *writer) close(c *tcpConn) error {
	c.open = false
	if err := g.packet(c.client, c.server, c.cseq, c.sseq, finFlag|ackFlag, nil); err != nil {
		return err
	}
	c.cseq++
	if err := g.packet(c.server, c.client, c.sseq, c.cseq, finFlag|ackFlag, nil); err != nil {
		return err
	}
	c.sseq++
	return g.packet(c.client, c.server, c.cseq, c.sseq, ackFlag, nil)
}

// exchange writes one request and its response, segmented by MSS, with
// the receiver's ACKs.
func (g *writer) exchange(c *tcpConn) error {
	req, resp := g.request(c.auth), g.response()
	if c.tls {
		req, resp = g.appData(len(req)), g.appData(len(resp))
	}
	if err := g.send(c.client, c.server, &c.cseq, c.sseq, req); err != nil {
		return err
	}
	if err := g.send(c.server, c.client, &c.sseq, c.cseq, resp); err != nil {
		return err
	}
	c.ops++
	g.stats.Exchanges++
	return nil
}

func (g *writer) send(src, dst netip.AddrPort, seq *uint32, ack uint32, data []byte) error {
	segs := 0
	for off := 0; off < len(data); off += g.mss {
		end := min(off+g.mss, len(data))
		if err := g.packet(src, dst, *seq, ack, ackFlag|pshFlag, data[off:end]); err != nil {
			return err
		}
		*seq += uint32(end - off)
		segs++
		if segs%2 == 0 || end == len(data) { // delayed ACK: every other segment
			if err := g.packet(dst, src, ack, *seq, ackFlag, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

const (
	finFlag = 0x01
	synFlag = 0x02
	pshFlag = 0x08
	ackFlag = 0x10
)

var macA = []byte{0x02, 0, 0, 0, 0, 1}
var macB = []byte{0x02, 0, 0, 0, 0, 2}

func (g *writer) packet(src, dst netip.AddrPort, seq, ack uint32, flags byte, payload []byte) error {
	g.now = g.now.Add(time.Duration(20+g.rng.Intn(200)) * time.Microsecond)
	n := 14 + 20 + 20 + len(payload)
	b := g.buf[:0]
	b = append(b, macB...)
	b = append(b, macA...)
	b = append(b, 0x08, 0x00)
	ip := len(b)
	b = append(b, 0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0)
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	b = append(b, s4[:]...)
	b = append(b, d4[:]...)
	binary.BigEndian.PutUint16(b[ip+2:], uint16(20+20+len(payload)))
	binary.BigEndian.PutUint16(b[ip+10:], ipChecksum(b[ip:ip+20]))
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint32(b, seq)
	b = binary.BigEndian.AppendUint32(b, ack)
	b = append(b, 5<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	b = append(b, payload...)
	g.buf = b
	g.stats.Packets++
	g.stats.Bytes += int64(16 + n)
	return g.w.WritePacket(captureInfo(g.now, n), b)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

var resources = []string{"customers", "orders", "invoices", "products", "users", "accounts",
	"shipments", "payments", "carts", "reviews"}

func (g *writer) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[g.rng.Intn(16)]
	}
	return string(b)
}

func (g *writer) uuid() string {
	h := g.hex(32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// request builds one request: mostly GETs of resources by id, some POSTs
// with JSON bodies, each with a bearer token or an API key.
func (g *writer) request(auth string) []byte {
	r := resources[g.rng.Intn(len(resources))]
	sub := resources[g.rng.Intn(len(resources))]
	var path string
	switch g.rng.Intn(4) {
	case 0:
		path = "/api/v2/" + r + "/" + strconv.Itoa(1000+g.rng.Intn(900000))
	case 1:
		path = "/api/v2/" + r + "/" + strconv.Itoa(1+g.rng.Intn(99999)) + "/" + sub + "/" + g.uuid()
	case 2:
		path = "/api/v2/" + r + "/" + g.hex(24)
	default:
		path = "/api/v2/" + r + "?limit=" + strconv.Itoa(10+g.rng.Intn(90)) + "&cursor=" + g.hex(16)
	}
	if g.rng.Intn(5) == 0 {
		body := g.jsonBody(200 + g.rng.Intn(1500))
		return []byte(fmt.Sprintf("POST /api/v2/%s HTTP/1.1\r\nHost: api.shop.internal\r\n"+
			"User-Agent: shop-client/2.3\r\nAccept: application/json\r\n%sContent-Type: application/json\r\n"+
			"Content-Length: %d\r\n\r\n%s", r, auth, len(body), body))
	}
	return []byte("GET " + path + " HTTP/1.1\r\nHost: api.shop.internal\r\nUser-Agent: shop-client/2.3\r\n" +
		"Accept: application/json\r\nAccept-Encoding: identity\r\n" + auth + "\r\n")
}

func (g *writer) response() []byte {
	body := g.jsonBody(300 + g.rng.Intn(4000))
	status := "200 OK"
	switch g.rng.Intn(40) {
	case 0:
		status = "404 Not Found"
	case 1:
		status = "201 Created"
	}
	if g.rng.Intn(6) == 0 { // chunked
		var b []byte
		b = append(b, "HTTP/1.1 "+status+"\r\nContent-Type: application/json; charset=utf-8\r\n"+
			"Transfer-Encoding: chunked\r\nServer: synth\r\n\r\n"...)
		for off := 0; off < len(body); off += 1024 {
			end := min(off+1024, len(body))
			b = strconv.AppendInt(b, int64(end-off), 16)
			b = append(b, "\r\n"...)
			b = append(b, body[off:end]...)
			b = append(b, "\r\n"...)
		}
		return append(b, "0\r\n\r\n"...)
	}
	return []byte("HTTP/1.1 " + status + "\r\nContent-Type: application/json; charset=utf-8\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\nServer: synth\r\n\r\n" + body)
}

var words = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"}

// jsonBody returns a JSON object of about n bytes.
func (g *writer) jsonBody(n int) string {
	b := []byte(`{"id":` + strconv.Itoa(g.rng.Intn(1e6)) + `,"status":"active","items":[`)
	for i := 0; len(b) < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"sku":"`+g.hex(8)+`","name":"`+words[g.rng.Intn(len(words))]+
			`","qty":`+strconv.Itoa(g.rng.Intn(20))+`,"price":`+strconv.Itoa(g.rng.Intn(10000))+`}`...)
	}
	return string(append(b, `]}`...))
}

func captureInfo(ts time.Time, n int) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: ts, CaptureLength: n, Length: n}
}
