package ebpf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"
)

// tcpPayload parses a raw IPv4/IPv6 packet and returns ports and payload.
func tcpPayload(pkt []byte) (sport, dport uint16, payload []byte, ok bool) {
	if len(pkt) < 20 {
		return 0, 0, nil, false
	}
	var l4 int
	switch pkt[0] >> 4 {
	case 4:
		if pkt[9] != 6 {
			return 0, 0, nil, false
		}
		l4 = int(pkt[0]&0x0f) * 4
	case 6:
		if len(pkt) < 40 || pkt[6] != 6 {
			return 0, 0, nil, false
		}
		l4 = 40
	default:
		return 0, 0, nil, false
	}
	if len(pkt) < l4+20 {
		return 0, 0, nil, false
	}
	off := l4 + int(pkt[l4+12]>>4)*4
	if off > len(pkt) {
		return 0, 0, nil, false
	}
	return binary.BigEndian.Uint16(pkt[l4:]), binary.BigEndian.Uint16(pkt[l4+2:]),
		pkt[off:], true
}

type captured struct {
	mu        sync.Mutex
	packets   int
	requests  int // payloads starting with "GET /hello"
	responses int // payloads starting with "HTTP/1.1 200"
	bulkBytes int // payload bytes captured on the bulk port
	badLink   int
}

func readAll(c *Capture, got *captured) chan error {
	done := make(chan error, 1)
	go func() {
		for {
			pkt, ci, err := c.ReadPacket()
			if err != nil {
				if errors.Is(err, io.EOF) {
					err = nil
				}
				done <- err
				return
			}
			sp, dp, pl, ok := tcpPayload(pkt)
			got.mu.Lock()
			got.packets++
			if ci.LinkType != 101 || ci.CaptureLength != len(pkt) || ci.Length < len(pkt) {
				got.badLink++
			}
			if ok {
				switch {
				case dp == 8080 && bytes.HasPrefix(pl, []byte("GET /hello")):
					got.requests++
				case sp == 8080 && bytes.HasPrefix(pl, []byte("HTTP/1.1 200")):
					got.responses++
				case sp == 9000 || dp == 9000:
					got.bulkBytes += len(pl)
				}
			}
			got.mu.Unlock()
		}
	}()
	return done
}

// bulkFlow sends n bytes of non-HTTP data from cli to srv port 9000.
func bulkFlow(t *testing.T, l *lab, n int) {
	t.Helper()
	var ln net.Listener
	if err := inNetNS(l.nsPath(l.srv), func() error {
		var err error
		ln, err = net.Listen("tcp", l.srvAddr+":9000")
		return err
	}); err != nil {
		t.Fatalf("listen in srv netns: %v", err)
	}
	defer ln.Close()
	recvd := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			recvd <- -1
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		k, _ := io.Copy(io.Discard, c)
		recvd <- k
	}()
	var conn net.Conn
	if err := inNetNS(l.nsPath(l.cli), func() error {
		var err error
		conn, err = net.DialTimeout("tcp", l.srvAddr+":9000", 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("dial in cli netns: %v", err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := bytes.Repeat([]byte{0x5a, 0x00, 0x13, 0x37}, 16<<10) // 64 KiB, not HTTP
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := conn.Write(buf); err != nil {
			t.Fatalf("bulk write: %v", err)
		}
	}
	conn.Close()
	if k := <-recvd; k < int64(n) {
		t.Fatalf("bulk receiver got %d bytes; want %d", k, n)
	}
}

func TestCaptureTCXHTTP(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want AttachMode
	}{
		{name: "tcx", want: AttachTCX},
		{name: "tc fallback", cfg: Config{DisableTCX: true}, want: AttachTC},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			l.startNginx(t)

			cfg := tc.cfg
			cfg.Interfaces = []string{l.cliIf}
			cfg.NetNS = l.nsPath(l.cli)
			cfg.Ports = []uint16{8080, 9000}
			cfg.CIDRs = []netip.Prefix{netip.MustParsePrefix("10.204.0.0/24")}
			c, err := NewCapture(cfg)
			if err != nil {
				t.Fatalf("NewCapture: %v", err)
			}
			defer c.Close()
			if c.Mode() != tc.want {
				t.Fatalf("Mode() = %v; want %v", c.Mode(), tc.want)
			}
			var got captured
			done := readAll(c, &got)

			const n = 12
			for i := range n {
				l.curl(t, "-o", "/dev/null", "http://"+l.srvAddr+":8080/hello?i="+strconv.Itoa(i))
			}
			const bulk = 4 << 20
			bulkFlow(t, l, bulk)

			// Wait (bounded) for the ring to deliver the requests.
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				got.mu.Lock()
				r := got.requests
				got.mu.Unlock()
				if r >= n {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // let stragglers arrive
			st, err := c.Stats()
			if err != nil {
				t.Fatalf("Stats: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("ReadPacket: %v", err)
			}

			got.mu.Lock()
			defer got.mu.Unlock()
			t.Logf("packets=%d stats=%+v", got.packets, st)
			if got.requests != n {
				t.Errorf("request lines captured = %d; want %d", got.requests, n)
			}
			if got.responses != n {
				t.Errorf("response status lines captured = %d; want %d", got.responses, n)
			}
			if got.badLink != 0 {
				t.Errorf("%d packets with a wrong link type or lengths", got.badLink)
			}
			if got.bulkBytes != 0 {
				t.Errorf("captured %d payload bytes of the non-HTTP flow; want 0", got.bulkBytes)
			}
			if st.FlowsOther < 1 || st.Skipped < 10 {
				t.Errorf("FlowsOther = %d, Skipped = %d; want >= 1 and >= 10 (bulk flow skipped)",
					st.FlowsOther, st.Skipped)
			}
			if st.FlowsHTTP < n {
				t.Errorf("FlowsHTTP = %d; want >= %d", st.FlowsHTTP, n)
			}
			if st.RingDrops != 0 {
				t.Errorf("RingDrops = %d; want 0", st.RingDrops)
			}
		})
	}
}

// TestCaptureCloseDrains closes a capture whose ring holds packets nobody
// read yet: they still come out of ReadPacket, then io.EOF. A sensor
// stopped under load used to lose them without a counter saying so.
func TestCaptureCloseDrains(t *testing.T) {
	l := newLab(t)
	l.startNginx(t)
	c, err := NewCapture(Config{Interfaces: []string{l.cliIf}, NetNS: l.nsPath(l.cli),
		Ports: []uint16{8080}})
	if err != nil {
		t.Fatalf("NewCapture: %v", err)
	}
	const n = 8
	for i := range n {
		l.curl(t, "-o", "/dev/null", "http://"+l.srvAddr+":8080/hello?i="+strconv.Itoa(i))
	}
	// Nothing has read the ring: Close starts, and only then the reader.
	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	var got captured
	if err := <-readAll(c, &got); err != nil {
		t.Fatalf("ReadPacket: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got.requests != n || got.responses != n {
		t.Errorf("after Close: %d requests and %d responses of %d; want all", got.requests,
			got.responses, n)
	}
}
