package ebpf

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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
	const calls = 5
	p := startTLSProgram(t, node, "testdata/nodetls/main.js", strconv.Itoa(calls), fakeToken(),
		cert, key)
	srv := p.addr
	s, snapshot := startTLS(t, TLSConfig{ScanInterval: -1})
	if !p.probedBy(s) {
		t.Fatalf("%s not probed (%v)", node, s.Libraries())
	}
	p.run(t)

	pid := p.pid
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
