package tlsparse

import (
	"bytes"
	"errors"
	"testing"
)

// buildServerHello returns a ServerHello message; version 0x0304 goes into
// supported_versions as TLS 1.3 requires.
func buildServerHello(version, suite uint16, alpn string, hrr bool) []byte {
	body := []byte{3, 3}
	if hrr {
		body = append(body, helloRetryRandom...)
	} else {
		body = append(body, bytes.Repeat([]byte{9}, 32)...)
	}
	body = append(body, 0, byte(suite>>8), byte(suite), 0)
	var exts []byte
	if version == VersionTLS13 {
		exts = append(exts, 0, 0x2b, 0, 2, 3, 4)
	}
	exts = append(exts, 0xff, 0x01, 0, 1, 0) // renegotiation_info
	if alpn != "" {
		exts = append(exts, 0, 0x10)
		exts = append(exts, vec16(vec16(vec8([]byte(alpn))))...)
	}
	body = append(body, vec16(exts)...)
	return append([]byte{typeServerHello, 0, byte(len(body) >> 8), byte(len(body))}, body...)
}

func TestParseServerHello(t *testing.T) {
	tests := []struct {
		name        string
		in          []byte
		wantVersion uint16
		wantSuite   uint16
		wantALPN    string
		wantHRR     bool
	}{
		{"tls 1.2 with alpn", records(buildServerHello(VersionTLS12, 0xc02f, "h2", false)),
			VersionTLS12, 0xc02f, "h2", false},
		{"tls 1.3", records(buildServerHello(VersionTLS13, 0x1301, "", false)),
			VersionTLS13, 0x1301, "", false},
		{"hello retry request split", records(buildServerHello(VersionTLS13, 0x1302, "", true), 7),
			VersionTLS13, 0x1302, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sh ServerHello
			if err := ParseServerHello(tt.in, &sh); err != nil {
				t.Fatalf("ParseServerHello: %v", err)
			}
			if sh.Version != tt.wantVersion || sh.CipherSuite != tt.wantSuite ||
				string(sh.ALPN) != tt.wantALPN || sh.HelloRetry != tt.wantHRR {
				t.Errorf("got version %04x suite %04x alpn %q hrr %v; want %04x %04x %q %v",
					sh.Version, sh.CipherSuite, sh.ALPN, sh.HelloRetry,
					tt.wantVersion, tt.wantSuite, tt.wantALPN, tt.wantHRR)
			}
			for n := range len(tt.in) {
				if err := ParseServerHello(tt.in[:n], &sh); !errors.Is(err, ErrShort) {
					t.Fatalf("ParseServerHello(%d bytes) = %v; want ErrShort", n, err)
				}
			}
		})
	}
	var sh ServerHello
	if err := ParseServerHello(records(buildClientHello(specHello)), &sh); !errors.Is(err, ErrNotServerHello) {
		t.Errorf("ParseServerHello(ClientHello) = %v; want ErrNotServerHello", err)
	}
}
