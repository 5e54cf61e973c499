package ebpf

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type seenChunk struct {
	pid           uint32
	comm          string
	cgroup        uint64
	local, remote netip.AddrPort
	dir           Dir
	data          []byte
	lost          int
}

// systemLibssl finds the libssl curl links against, from ldd.
func systemLibssl(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("ldd", "/usr/bin/curl").Output()
	if err != nil {
		t.Skipf("skipping: ldd curl: %v", err)
	}
	m := regexp.MustCompile(`libssl\.so[^ ]* => (\S+)`).FindSubmatch(out)
	if m == nil {
		t.Skip("skipping: curl is not linked against OpenSSL's libssl")
	}
	return string(m[1])
}

func startTLS(t *testing.T, cfg TLSConfig) (*TLSSource, func() []seenChunk) {
	t.Helper()
	s, err := NewTLSSource(cfg)
	if err != nil {
		t.Fatalf("NewTLSSource: %v", err)
	}
	var mu sync.Mutex
	var got []seenChunk
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.Run(ctx, func(c *Chunk) {
			mu.Lock()
			got = append(got, seenChunk{c.PID, c.Comm, c.CgroupID, c.Local, c.Remote, c.Dir,
				bytes.Clone(c.Data), c.Lost})
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
	return s, func() []seenChunk {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenChunk(nil), got...)
	}
}

// waitFor polls (bounded) until cond holds over the chunks seen so far.
func waitFor(snapshot func() []seenChunk, cond func([]seenChunk) bool) []seenChunk {
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := snapshot()
		if cond(got) || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTLSPlaintext(t *testing.T) {
	l := newLab(t)
	l.startNginx(t)
	lib := systemLibssl(t)
	s, snapshot := startTLS(t, TLSConfig{Libraries: []string{lib}, ScanInterval: -1})

	var tb [16]byte
	rand.Read(tb[:])
	token := "tok_" + hex.EncodeToString(tb[:]) // fake; never printed
	body := `{"user":"alice","plan":"pro"}`
	curlPID, out := l.curl(t, "-k", "-X", "POST", "-H", "Authorization: Bearer "+token,
		"-H", "Content-Type: application/json", "--data-binary", body,
		"https://"+l.srvAddr+":8443/api/echo")
	if out != `{"ok":true}` {
		t.Fatalf("curl output = %q; want {\"ok\":true}", out)
	}
	nginxPID := uint32(l.nginxPID(t))

	const reqLine = "POST /api/echo HTTP/1.1"
	find := func(got []seenChunk, pid uint32, dir Dir, prefix string) *seenChunk {
		for i := range got {
			c := &got[i]
			if c.pid == pid && c.dir == dir && bytes.Contains(c.data, []byte(prefix)) {
				return c
			}
		}
		return nil
	}
	got := waitFor(snapshot, func(got []seenChunk) bool {
		return find(got, uint32(curlPID), Write, reqLine) != nil &&
			find(got, uint32(curlPID), Read, "HTTP/1.1 200") != nil &&
			find(got, nginxPID, Read, reqLine) != nil
	})

	srv := netip.MustParseAddr(l.srvAddr)
	cli := netip.MustParseAddr(l.cliAddr)
	cw := find(got, uint32(curlPID), Write, reqLine)
	cr := find(got, uint32(curlPID), Read, "HTTP/1.1 200")
	nr := find(got, nginxPID, Read, reqLine)
	for _, w := range []struct {
		name   string
		c      *seenChunk
		comm   string
		local  netip.Addr
		remote netip.AddrPort
	}{
		{"curl write", cw, "curl", cli, netip.AddrPortFrom(srv, 8443)},
		{"curl read", cr, "curl", cli, netip.AddrPortFrom(srv, 8443)},
		{"nginx read", nr, "nginx", srv, netip.AddrPort{}},
	} {
		if w.c == nil {
			t.Errorf("%s: no chunk captured (%d chunks in total)", w.name, len(got))
			continue
		}
		if w.c.comm != w.comm {
			t.Errorf("%s: Comm = %q; want %q", w.name, w.c.comm, w.comm)
		}
		if w.c.cgroup == 0 {
			t.Errorf("%s: CgroupID = 0; want the process's cgroup", w.name)
		} else if p := NewResolver("").Path(w.c.cgroup); p == "" {
			t.Errorf("%s: cgroup id %d resolves to no cgroup path", w.name, w.c.cgroup)
		}
		if w.c.local.Addr() != w.local {
			t.Errorf("%s: Local = %v; want address %v", w.name, w.c.local, w.local)
		}
		if w.remote.IsValid() && w.c.remote != w.remote {
			t.Errorf("%s: Remote = %v; want %v", w.name, w.c.remote, w.remote)
		}
		if w.c.lost != 0 {
			t.Errorf("%s: Lost = %d; want 0", w.name, w.c.lost)
		}
	}
	if cw != nil && nr != nil {
		// Both ends of one connection: nginx's peer is curl's socket.
		if nr.local != netip.AddrPortFrom(srv, 8443) || nr.remote != cw.local {
			t.Errorf("nginx read: Local, Remote = %v, %v; want %v, %v", nr.local, nr.remote,
				netip.AddrPortFrom(srv, 8443), cw.local)
		}
		// The plaintext carries the header and body; compare without
		// printing the token.
		for _, c := range []*seenChunk{cw, nr} {
			if !bytes.Contains(c.data, []byte("Authorization: Bearer "+token)) {
				t.Errorf("pid %d: request chunk lacks the Authorization header", c.pid)
			}
		}
		all := joined(got, nginxPID, Read)
		if !bytes.Contains(all, []byte(body)) {
			t.Errorf("nginx read: JSON body not in the plaintext it read")
		}
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.RingDrops != 0 || st.Libraries < 1 {
		t.Errorf("Stats = %+v; want no ring drops and >= 1 library", st)
	}
	t.Logf("libraries=%v chunks=%d stats=%+v", s.Libraries(), len(got), st)
}

// joined concatenates the data of pid's chunks in one direction.
func joined(got []seenChunk, pid uint32, dir Dir) []byte {
	var b []byte
	for _, c := range got {
		if c.pid == pid && c.dir == dir {
			b = append(b, c.data...)
		}
	}
	return b
}

// A request body larger than a ring record is split in the kernel and must
// come out whole and in order.
func TestTLSLargeWriteReassembled(t *testing.T) {
	l := newLab(t)
	l.startNginx(t)
	lib := systemLibssl(t)
	_, snapshot := startTLS(t, TLSConfig{Libraries: []string{lib}, ScanInterval: -1})

	var big bytes.Buffer
	for i := 0; big.Len() < 60000; i++ {
		big.WriteString("0123456789abcdef-")
	}
	big.WriteString("TAIL-MARKER")
	f := filepath.Join(t.TempDir(), "body")
	os.WriteFile(f, big.Bytes(), 0o644)
	curlPID, _ := l.curl(t, "-k", "-X", "POST", "--data-binary", "@"+f,
		"https://"+l.srvAddr+":8443/api/echo")

	got := waitFor(snapshot, func(got []seenChunk) bool {
		return bytes.Contains(joined(got, uint32(curlPID), Write), []byte("TAIL-MARKER"))
	})
	w := joined(got, uint32(curlPID), Write)
	i := bytes.Index(w, []byte("\r\n\r\n"))
	if i < 0 {
		t.Fatalf("curl write: no end of headers in %d bytes", len(w))
	}
	if gotBody := w[i+4:]; !bytes.Equal(gotBody, big.Bytes()) {
		t.Errorf("curl write body: %d bytes, equal=%v; want the %d bytes sent",
			len(gotBody), bytes.Equal(gotBody, big.Bytes()), big.Len())
	}
	var split bool
	for _, c := range got {
		if c.pid == uint32(curlPID) && c.dir == Write && len(c.data) > tlsPartMax {
			split = true
		}
		if c.lost != 0 {
			t.Errorf("chunk of pid %d lost %d bytes; want 0", c.pid, c.lost)
		}
	}
	if !split {
		t.Errorf("no curl write chunk larger than %d bytes: reassembly not exercised",
			tlsPartMax)
	}
}

// A process started after the source must be covered without listing its
// library: the exec notice makes the scanner probe it.
func TestTLSExecDiscovery(t *testing.T) {
	requireRoot(t)
	lib := systemLibssl(t)
	// Copy libssl so that its inode is new to the source (the system copy
	// may already be probed by other processes' scans).
	dir := t.TempDir()
	cp := filepath.Join(dir, filepath.Base(lib))
	b, err := os.ReadFile(lib)
	if err != nil {
		t.Skipf("skipping: read %s: %v", lib, err)
	}
	os.WriteFile(cp, b, 0o755)
	s, _ := startTLS(t, TLSConfig{ScanInterval: -1})
	for _, p := range s.Libraries() {
		if strings.HasPrefix(p, dir) {
			t.Fatalf("library %s probed before any process mapped it", p)
		}
	}
	// A process that maps the copy and stays alive a moment.
	cmd := exec.Command("sleep", "2")
	cmd.Env = append(os.Environ(), "LD_PRELOAD="+cp)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	defer cmd.Wait()
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, p := range s.Libraries() {
			if strings.HasSuffix(p, cp) {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("Libraries() = %v; want one ending in %s", s.Libraries(), cp)
}
