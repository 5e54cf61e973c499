package ebpf

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeLoopbackCert writes a self-signed certificate for 127.0.0.1 and its
// key into dir.
func writeLoopbackCert(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1),
		Subject: pkix.Name{CommonName: "loopback.test"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	for path, b := range map[string]*pem.Block{cert: {Type: "CERTIFICATE", Bytes: der},
		key: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(path, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return cert, key
}

// TestLinkedOpenSSLNode runs Node.js, which carries OpenSSL inside its own
// executable rather than in libssl: found by the process scan, its
// executable is probed like a library, and both ends of its HTTPS calls to
// itself come out in plaintext.
func TestLinkedOpenSSLNode(t *testing.T) {
	requireRoot(t)
	if err := checkKernel(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("skipping: no node")
	}
	if real, err := filepath.EvalSymlinks(node); err == nil {
		node = real
	}
	if !definesSSL(node) {
		t.Skipf("skipping: %s takes OpenSSL from libssl, which TestTLSPlaintext covers", node)
	}
	dir := t.TempDir()
	cert, key := writeLoopbackCert(t, dir)
	var tb [16]byte
	rand.Read(tb[:])
	token := "tok_" + hex.EncodeToString(tb[:]) // fake; never printed
	const calls = 5
	cmd := exec.Command(node, "testdata/nodetls/main.js", "5", token, cert, key)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatal("node printed no address")
	}
	srv := netip.MustParseAddrPort(lines.Text())

	s, snapshot := startTLS(t, TLSConfig{ScanInterval: -1})
	probed := false
	for _, p := range s.Libraries() {
		probed = probed || strings.HasSuffix(p, node)
	}
	if !probed {
		t.Fatalf("%s not probed (%v)", node, s.Libraries())
	}
	stdin.Write([]byte("go\n"))
	if !lines.Scan() || lines.Text() != "done" {
		t.Fatalf("node did not finish its calls: %q", lines.Text())
	}

	pid := uint32(cmd.Process.Pid)
	count := func(got []seenChunk, dir Dir, substr string) int {
		var joined []byte
		for _, c := range got {
			if c.pid == pid && c.dir == dir {
				joined = append(joined, c.data...)
			}
		}
		return bytes.Count(joined, []byte(substr))
	}
	const req = "POST /api/items/"
	got := waitFor(snapshot, func(got []seenChunk) bool {
		return count(got, Write, req) == calls && count(got, Read, req) == calls &&
			count(got, Read, "HTTP/1.1 200") == calls
	})
	for _, w := range []struct {
		name   string
		dir    Dir
		substr string
	}{
		{"requests written", Write, req},
		{"requests read", Read, req},
		{"answers written", Write, "HTTP/1.1 200"},
		{"answers read", Read, "HTTP/1.1 200"},
	} {
		if n := count(got, w.dir, w.substr); n != calls {
			t.Errorf("%s: %d of %d seen (%d chunks in all)", w.name, n, calls, len(got))
		}
	}
	var resolved, all int
	for _, c := range got {
		if c.pid == pid {
			all++
			if c.remote.IsValid() && (c.remote == srv || c.local == srv) {
				resolved++
			}
		}
	}
	t.Logf("%d of %d chunks carry the connection's addresses", resolved, all)
}
