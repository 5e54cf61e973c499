//go:build e2e

package lab

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLabRoundTrip exercises every helper once: namespaces, a link, nginx,
// tcpdump, curl inside a namespace and a Go client dialling from one.
func TestLabRoundTrip(t *testing.T) {
	l := New(t)
	Require(t, "nginx", "tcpdump", "curl")
	srv, cli := l.Namespace("srv"), l.Namespace("cli")
	link := l.Link(srv, cli)

	for _, addr := range []netip.Addr{link.A, link.A6} {
		ap := netip.AddrPortFrom(addr, 8080)
		ng := srv.Nginx(t, ap, `location /hello { return 200 '{"hi":1}'; }`)
		pcap := filepath.Join(t.TempDir(), "cap.pcap")
		capture := srv.Tcpdump(t, link.IfA, pcap, "tcp", "port", "8080")

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := cli.Command(ctx, "curl", "-sS", "-m", "5",
			"http://"+ng.Addr.String()+"/hello").CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("curl %s: %v: %s", ng.Addr, err, out)
		}
		if got, want := string(out), `{"hi":1}`; got != want {
			t.Fatalf("curl body: got %q; want %q", got, want)
		}

		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: cli.DialContext}}
		resp, err := hc.Get("http://" + ng.Addr.String() + "/hello")
		if err != nil {
			t.Fatalf("go client: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "hi") {
			t.Fatalf("go client: got %d %q; want 200 with hi", resp.StatusCode, body)
		}
		hc.CloseIdleConnections()

		if err := capture.Stop(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(pcap)
		if err != nil || st.Size() < 24+2*16 {
			t.Fatalf("pcap %s: size %v, err %v; want packets\n%s", pcap, st.Size(), err, capture.proc.Output())
		}
		if n, _ := capture.Stats(); n < 10 {
			t.Errorf("tcpdump captured %d packets; want at least 10 (two HTTP exchanges)", n)
		}
		_ = ng.Proc.Stop(3) // SIGQUIT, so the IPv6 round can reuse the port
	}

	// The lab's addresses must exist only inside its namespaces. (A connect
	// test would prove nothing: some sandboxes accept every outbound TCP
	// connect at their gateway.)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	lab4 := netip.MustParsePrefix("10.203.0.0/16")
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && lab4.Contains(p.Addr()) {
			t.Errorf("host interface has %s; lab addresses must exist only in namespaces", p)
		}
	}
}
