package engine

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/apitap/apitap/sensor/exchange"
)

// TestStreamChunks feeds a decrypted request and response, split and with a
// lost piece, and checks the exchanges carry the process and "+tls".
func TestStreamChunks(t *testing.T) {
	col := &collector{}
	w := NewWorker(&Config{}, col)
	proc := &exchange.Process{PID: 42, Comm: "curl"}
	now := time.Unix(1_700_000_000, 0)
	local := netip.MustParseAddrPort("10.0.0.2:40000")
	remote := netip.MustParseAddrPort("203.0.113.5:443")
	send := func(write bool, s string, lost int) {
		now = now.Add(time.Millisecond)
		w.Stream(&Chunk{Time: now, Conn: 0xabc, PID: 42, Local: local, Remote: remote, Write: write,
			Data: []byte(s), Lost: lost, Process: proc})
	}
	send(true, "POST /v1/chat HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: 2\r\n\r\n{}", 0)
	send(false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", 0)
	send(false, "lo", 0)
	send(true, "GET /a HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 0)
	send(false, "HTTP/1.1 204 No Content\r\n\r\n", 0)
	// A lost piece: the parser resynchronises at the next request.
	send(true, "GET /b HTTP/1.1\r\nHo", 0)
	send(true, "GET /c HTTP/1.1\r\nHost: api.example.com\r\n\r\n", 30)
	send(false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0)
	w.Finish()
	var paths []string
	for _, ex := range col.exchanges {
		paths = append(paths, ex.Method+" "+ex.Path)
		if ex.Protocol != "http/1.1+tls" {
			t.Errorf("%s %s: protocol %q; want http/1.1+tls", ex.Method, ex.Path, ex.Protocol)
		}
		if ex.Process == nil || ex.Process.PID != 42 {
			t.Errorf("%s %s: process %+v; want pid 42", ex.Method, ex.Path, ex.Process)
		}
		if ex.Client != local || ex.Server != remote {
			t.Errorf("%s %s: client %v server %v; want %v and %v", ex.Method, ex.Path, ex.Client,
				ex.Server, local, remote)
		}
	}
	want := []string{"POST /v1/chat", "GET /a", "GET /c"}
	if len(paths) < len(want) {
		t.Fatalf("exchanges %v; want at least %v", paths, want)
	}
	for i, p := range want {
		if paths[i] != p {
			t.Errorf("exchange %d is %q; want %q (all: %v)", i, paths[i], p, paths)
		}
	}
}

// TestStreamWithoutAddresses: a process whose TLS library never touches the
// socket (Node.js) gives no addresses. Its two connections stay apart, the
// exchanges carry no made-up address, and the side that wrote the request
// says which way each went.
func TestStreamWithoutAddresses(t *testing.T) {
	col := &collector{}
	w := NewWorker(&Config{}, col)
	proc := &exchange.Process{PID: 7, Comm: "node"}
	now := time.Unix(1_700_000_000, 0)
	send := func(conn uint64, write bool, s string) {
		now = now.Add(time.Millisecond)
		w.Stream(&Chunk{Time: now, Conn: conn, PID: 7, Write: write, Data: []byte(s),
			Process: proc})
	}
	// Connection 1: node calls out. Connection 2: node serves a call.
	send(1, true, "GET /out HTTP/1.1\r\nHost: api.example.com\r\n\r\n")
	send(2, false, "GET /in HTTP/1.1\r\nHost: shop.test\r\n\r\n")
	send(2, true, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	send(1, false, "HTTP/1.1 204 No Content\r\n\r\n")
	w.Finish()
	got := map[string]exchange.Direction{}
	for _, ex := range col.exchanges {
		got[ex.Path] = ex.Direction
		if ex.Client.IsValid() || ex.Server.IsValid() {
			t.Errorf("%s: client %v server %v; want both unknown", ex.Path, ex.Client, ex.Server)
		}
		if j := string(ex.AppendJSON(nil)); !strings.Contains(j, `"client":null,"server":null`) {
			t.Errorf("%s: record %s; want null addresses", ex.Path, j)
		}
	}
	if got["/out"] != exchange.DirOutbound || got["/in"] != exchange.DirInbound || len(got) != 2 {
		t.Errorf("directions %v; want /out outbound and /in inbound", got)
	}
}
