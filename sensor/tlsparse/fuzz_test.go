package tlsparse

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzClientHello checks that no input panics, that ErrShort always asks for
// more than it was given, and that a successful parse does not change when
// more bytes follow (the core hands over growing prefixes of a stream).
func FuzzClientHello(f *testing.F) {
	f.Add(records(buildClientHello(specHello)))
	f.Add(records(buildClientHello(specHello), 3, 1, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		var ch ClientHello
		err := ParseClientHello(b, &ch)
		if errors.Is(err, ErrShort) {
			if ch.Need <= len(b) {
				t.Fatalf("ErrShort with Need %d for %d bytes", ch.Need, len(b))
			}
			return
		}
		if err != nil {
			return
		}
		if ch.Len > len(b) || ch.Len < handshakeHeaderLen {
			t.Fatalf("Len %d out of range for %d bytes", ch.Len, len(b))
		}
		fp := JA4(&ch, 't')
		if len(fp) != 36 || fp[10] != '_' || fp[23] != '_' {
			t.Fatalf("JA4 %q is not well-formed", fp)
		}
		sni := string(ch.ServerName)
		var again ClientHello
		if err := ParseClientHello(append(bytes.Clone(b), 22, 3, 3, 0, 1, 0), &again); err != nil {
			t.Fatalf("parse with trailing bytes: %v", err)
		}
		if JA4(&again, 't') != fp || string(again.ServerName) != sni {
			t.Fatalf("trailing bytes changed the result: %s %q vs %s %q",
				JA4(&again, 't'), again.ServerName, fp, sni)
		}
		var m ClientHello
		ParseClientHelloMessage(b, &m) // must not panic either
	})
}

func FuzzServerHello(f *testing.F) {
	f.Add(records(buildServerHello(VersionTLS12, 0xc02f, "h2", false)))
	f.Add(records(buildServerHello(VersionTLS13, 0x1301, "", true), 10))
	f.Fuzz(func(t *testing.T, b []byte) {
		var sh ServerHello
		err := ParseServerHello(b, &sh)
		if errors.Is(err, ErrShort) && sh.Need <= len(b) {
			t.Fatalf("ErrShort with Need %d for %d bytes", sh.Need, len(b))
		}
		if err == nil && (sh.Len > len(b) || len(sh.ALPN) > sh.Len) {
			t.Fatalf("Len %d ALPN %d out of range for %d bytes", sh.Len, len(sh.ALPN), len(b))
		}
	})
}
