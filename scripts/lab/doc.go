// Package lab builds small throwaway networks for end-to-end tests that run
// as root: network namespaces joined by veth pairs, with nginx, tcpdump or
// any other program running inside them.
//
// A test starts with New, which skips the test (with the reason) when it is
// not running as root or when ip(8) is missing, and registers a cleanup that
// tears everything down even when the test fails or panics:
//
//	l := lab.New(t)
//	srv, cli := l.Namespace("srv"), l.Namespace("cli")
//	link := l.Link(srv, cli) // 10.203.N.1 in srv, 10.203.N.2 in cli
//	ng := srv.Nginx(t, netip.AddrPortFrom(link.A, 8080), `location / { return 200 "ok"; }`)
//	capture := srv.Tcpdump(t, link.IfA, filepath.Join(t.TempDir(), "cap.pcap"), "tcp")
//	out, err := cli.Command(ctx, "curl", "-s", "http://"+ng.Addr.String()+"/").Output()
//	capture.Stop() // SIGINT, then waits until tcpdump has written and closed the file
//
// Namespace names are unique per process and per lab ("apt<pid>x<n>-name"), so
// parallel tests and parallel engineers never collide. Addresses come from
// 10.203.0.0/16 and fd00:203::/48; they exist only inside the namespaces the
// lab creates, never on the host, so a test cannot reach or disturb the host
// network.
//
// Everything is bounded in time: each setup command has a deadline
// (CommandTimeout), waits for nginx and tcpdump give up after ReadyTimeout,
// and background processes are killed at cleanup (SIGTERM, then SIGKILL
// after KillGrace).
//
// Go code can run inside a namespace too: Namespace.Do runs a function on an
// OS thread switched into the namespace, and Namespace.DialContext opens a
// socket there that the rest of the program can use, which lets an
// http.Client act as a client inside the lab.
//
// Tests that use this package carry the build tag e2e, so `go test ./...`
// stays fast and `go test -tags e2e ./...` (make e2e) runs them.
package lab
