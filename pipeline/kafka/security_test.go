package kafka

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/apitap/apitap/pipeline/sink"
)

func TestSASLMechanisms(t *testing.T) {
	tests := []struct {
		name, kfakeMethod, mechanism string
	}{
		{"plain", "PLAIN", "plain"},
		{"scram-sha-256", "SCRAM-SHA-256", "scram-sha-256"},
		{"scram-sha-512", "SCRAM-SHA-512", "scram-sha-512"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
				kfake.SeedTopics(1, topics...), kfake.EnableSASL(),
				kfake.Superuser(tt.kfakeMethod, "sensor", "s3cret-pw"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			cfg := Config{Brokers: c.ListenAddrs(), SASLMechanism: tt.mechanism,
				SASLUser: "sensor", SASLPassword: "wrong"}
			if _, err := New(context.Background(), cfg); err == nil {
				t.Fatalf("New with a wrong password succeeded; want an error")
			}
			cfg.SASLPassword = "s3cret-pw"
			cfg.Spool.Dir = t.TempDir()
			s, err := New(context.Background(), cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			writeAndCheck(t, s)
		})
	}
}

func TestTLSWithPrivateCAAndClientCert(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey := newCert(t, nil, nil, "apitap test ca", true)
	srvCert, srvKey := newCert(t, caCert, caKey, "127.0.0.1", false)
	cliCert, cliKey := newCert(t, caCert, caKey, "sensor", false)
	writePEM(t, filepath.Join(dir, "ca.pem"), "CERTIFICATE", caCert.Raw)
	writePEM(t, filepath.Join(dir, "client.pem"), "CERTIFICATE", cliCert.Raw)
	kb, _ := x509.MarshalECPrivateKey(cliKey)
	writePEM(t, filepath.Join(dir, "client.key"), "EC PRIVATE KEY", kb)

	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	srv := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw},
		PrivateKey: srvKey}}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert,
		MinVersion: tls.VersionTLS12}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0),
		kfake.SeedTopics(1, topics...), kfake.TLS(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Without the client certificate the broker refuses the handshake.
	if _, err := New(context.Background(), Config{Brokers: c.ListenAddrs(),
		CAFile: filepath.Join(dir, "ca.pem")}); err == nil {
		t.Fatalf("New without a client certificate succeeded; want an error")
	}
	s, err := New(context.Background(), Config{Brokers: c.ListenAddrs(),
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "client.pem"),
		KeyFile: filepath.Join(dir, "client.key"), Spool: spoolCfg(t)})
	if err != nil {
		t.Fatalf("New over TLS: %v", err)
	}
	writeAndCheck(t, s)
}

// writeAndCheck writes a few findings directly (not spooled) and closes.
func writeAndCheck(t *testing.T, s *Sink) {
	t.Helper()
	enc := newEncoder()
	evs := []sink.Event{enc.finding(1), enc.finding(2), enc.endpoint(3)}
	if err := s.Write(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Sent != 3 || st.Spooled != 0 {
		t.Fatalf("stats %+v; want 3 sent directly", st)
	}
}

func newCert(t *testing.T, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, cn string,
	ca bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: ca, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if !ca {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}),
		0o600); err != nil {
		t.Fatal(err)
	}
}
