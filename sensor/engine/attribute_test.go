package engine

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/decode"
	"github.com/apitap/apitap/sensor/exchange"
)

// tcpScript writes the packets of one TCP connection from client to server.
type tcpScript struct {
	w              *Worker
	client, server netip.AddrPort
	now            time.Time
	seq            [2]uint32 // next sequence number: client, server
}

func (s *tcpScript) send(fromClient bool, flags uint8, payload string) {
	s.now = s.now.Add(time.Millisecond)
	src, dst, i := s.client, s.server, 0
	if !fromClient {
		src, dst, i = s.server, s.client, 1
	}
	p := &decode.Packet{Time: s.now, Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(),
		DstPort: dst.Port(), Proto: decode.ProtoTCP, Flags: flags, Seq: s.seq[i],
		Ack: s.seq[1-i], Payload: []byte(payload)}
	if flags&decode.FlagACK == 0 {
		p.Ack = 0
	}
	s.w.Packet(p)
	s.seq[i] += uint32(len(payload))
	if flags&(decode.FlagSYN|decode.FlagFIN) != 0 {
		s.seq[i]++
	}
}

// TestAttribute checks the Config.Attribute hook: it is asked once per TCP
// flow with the flow's client and server, before the exchange is emitted
// (so the exchange carries the process), also for a request nobody
// answered, and never for UDP or for decrypted streams.
func TestAttribute(t *testing.T) {
	const req = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	const rsp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	client := netip.MustParseAddrPort("10.0.0.2:40000")
	server := netip.MustParseAddrPort("10.0.0.9:8080")
	proc := &exchange.Process{PID: 4242, Comm: "curl"}

	tests := []struct {
		name      string
		attribute bool
		answer    bool // the server responds
		wantCalls int
	}{
		{"answered exchange", true, true, 1},
		{"unanswered request", true, false, 1},
		{"no hook", false, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var calls [][2]netip.AddrPort
			cfg := &Config{}
			if tc.attribute {
				cfg.Attribute = func(c, s netip.AddrPort) *exchange.Process {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, [2]netip.AddrPort{c, s})
					return proc
				}
			}
			col := &collector{}
			w := NewWorker(cfg, col)
			s := &tcpScript{w: w, client: client, server: server,
				now: time.Unix(1_700_000_000, 0), seq: [2]uint32{1000, 5000}}
			s.send(true, decode.FlagSYN, "")
			s.send(false, decode.FlagSYN|decode.FlagACK, "")
			s.send(true, decode.FlagACK, "")
			s.send(true, decode.FlagACK|decode.FlagPSH, req)
			if tc.answer {
				s.send(false, decode.FlagACK|decode.FlagPSH, rsp)
			}
			s.send(true, decode.FlagACK|decode.FlagFIN, "")
			s.send(false, decode.FlagACK|decode.FlagFIN, "")
			s.send(true, decode.FlagACK, "")
			w.Finish()

			if len(calls) != tc.wantCalls {
				t.Fatalf("Attribute called %d times (%v); want %d", len(calls), calls,
					tc.wantCalls)
			}
			for _, c := range calls {
				if c[0] != client || c[1] != server {
					t.Errorf("Attribute(%s, %s); want (%s, %s)", c[0], c[1], client, server)
				}
			}
			var want *exchange.Process
			if tc.attribute {
				want = proc
			}
			if len(col.exchanges) != 1 {
				t.Fatalf("got %d exchanges; want 1", len(col.exchanges))
			}
			if got := col.exchanges[0].Process; got != want {
				t.Errorf("exchange process %+v; want %+v", got, want)
			}
			if len(col.flows) != 1 {
				t.Fatalf("got %d flows; want 1", len(col.flows))
			}
			if got := col.flows[0].Process; got != want {
				t.Errorf("flow process %+v; want %+v", got, want)
			}
		})
	}
}

// TestAttributeSkipsStreamsAndUDP: decrypted streams carry their own
// process and UDP flows have no socket owner in the map, so neither asks.
func TestAttributeSkipsStreamsAndUDP(t *testing.T) {
	calls := 0
	cfg := &Config{Attribute: func(c, s netip.AddrPort) *exchange.Process {
		calls++
		return &exchange.Process{PID: 1}
	}}
	col := &collector{}
	w := NewWorker(cfg, col)
	now := time.Unix(1_700_000_000, 0)
	own := &exchange.Process{PID: 7, Comm: "nginx"}
	for i, ch := range []struct {
		write bool
		data  string
	}{{true, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"}, {false, "HTTP/1.1 204 No Content\r\n\r\n"}} {
		w.Stream(&Chunk{Time: now.Add(time.Duration(i) * time.Millisecond), Conn: 1, PID: 7,
			Local:  netip.MustParseAddrPort("10.0.0.2:40001"),
			Remote: netip.MustParseAddrPort("10.0.0.9:443"), Write: ch.write,
			Data: []byte(ch.data), Process: own})
	}
	w.Packet(&decode.Packet{Time: now, Src: netip.MustParseAddr("10.0.0.2"),
		Dst: netip.MustParseAddr("10.0.0.9"), SrcPort: 5000, DstPort: 6000,
		Proto: decode.ProtoUDP, Payload: []byte("x")})
	w.Finish()
	if calls != 0 {
		t.Errorf("Attribute called %d times; want 0", calls)
	}
	if len(col.exchanges) != 1 || col.exchanges[0].Process != own {
		t.Errorf("stream exchanges %+v; want one carrying the chunk's process", col.exchanges)
	}
}
