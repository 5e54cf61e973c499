package quic

import (
	"crypto/aes"
	"crypto/cipher"
	"testing"
)

// gcmSeal and ecb use the standard library directly with the RFC's key bytes,
// as the reference for the keys this package derives.
func gcmSeal(t *testing.T, key, nonce, plain []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return g.Seal(nil, nonce, plain, nil)
}

func ecb(t *testing.T, key, block []byte) []byte {
	c, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 16)
	c.Encrypt(out, block)
	return out
}

func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, 0x40|byte(v>>8), byte(v))
	}
	return append(b, 0x80|byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// appendVarint2 always uses the 2-byte form, as packet Length fields do.
func appendVarint2(b []byte, v uint64) []byte {
	return append(b, 0x40|byte(v>>8), byte(v))
}
