package secret

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io/fs"
	"os"
	"path/filepath"
)

// KeySize is the length of a fingerprint key in bytes.
const KeySize = 32

// fingerprintHexLen is how many hex characters of the HMAC a fingerprint
// keeps: 64 bits tell credentials apart across a large fleet while giving an
// attacker with the fingerprint far less than the full MAC to work with.
const fingerprintHexLen = 16

// FingerprintPrefix starts every fingerprint, so a reader (and the leak tests)
// can tell one apart from any other hex string.
const FingerprintPrefix = "fp_"

// Errors returned by LoadOrCreateKey and NewKey.
var (
	// ErrKeyPermissions means the key file can be read or written by users
	// other than its owner; fix the mode (chmod 600) rather than trust it.
	ErrKeyPermissions = errors.New("secret: key file is accessible to group or others")
	// ErrKeySize means the key file or slice does not hold KeySize bytes.
	ErrKeySize = errors.New("secret: key has the wrong size")
)

// Key is a per-installation HMAC key. The zero Key is usable but every
// installation using it produces the same fingerprints, so it is meant for
// tests only. Key is a small value and safe for concurrent use.
type Key struct {
	b [KeySize]byte
}

// NewKey returns a Key holding a copy of b, which must be KeySize bytes.
func NewKey(b []byte) (Key, error) {
	var k Key
	if len(b) != KeySize {
		return k, ErrKeySize
	}
	copy(k.b[:], b)
	return k, nil
}

// LoadOrCreateKey reads the key at path, or creates it with KeySize random
// bytes and mode 0600 when it does not exist (parent directories are created
// with mode 0700). It refuses a key file whose mode grants any access to group
// or others.
func LoadOrCreateKey(path string) (Key, error) {
	var k Key

	b, err := readKeyFile(path)
	if err == nil {
		return NewKey(b)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return k, fmt.Errorf("secret: create key directory: %w", err)
	}
	if _, err := rand.Read(k.b[:]); err != nil {
		return k, fmt.Errorf("secret: generate key: %w", err)
	}

	// O_EXCL: if another sensor process created the file meanwhile, use
	// its key rather than overwrite it and break its fingerprints.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		b, err := readKeyFile(path)
		if err != nil {
			return k, err
		}
		return NewKey(b)
	}
	if err != nil {
		return k, fmt.Errorf("secret: create key file: %w", err)
	}
	if _, err := f.Write(k.b[:]); err != nil {
		f.Close()
		os.Remove(path)
		return k, fmt.Errorf("secret: write key file: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return k, fmt.Errorf("secret: write key file: %w", err)
	}
	return k, nil
}

// readKeyFile checks the mode of the file at path before reading it.
func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()

	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("secret: stat key file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("secret: key file %s is not a regular file", path)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %v", ErrKeyPermissions, path, st.Mode().Perm())
	}

	b := make([]byte, KeySize+1)
	n, err := f.Read(b)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	if n != KeySize {
		return nil, fmt.Errorf("%w: %s holds %d bytes", ErrKeySize, path, n)
	}
	return b[:n], nil
}

// Fingerprint returns "fp_" and the first 16 hex characters of
// HMAC-SHA-256(key, kind || 0x00 || value). The kind (a data class such as
// "github_token") is part of the MAC so that equal bytes of different kinds
// do not correlate. Equal keys give equal fingerprints on every host.
func (k Key) Fingerprint(kind string, value []byte) string {
	mac := hmac.New(sha256.New, k.b[:])
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write(value)

	var sum [sha256.Size]byte
	var out [len(FingerprintPrefix) + fingerprintHexLen]byte
	copy(out[:], FingerprintPrefix)
	hex.Encode(out[len(FingerprintPrefix):], mac.Sum(sum[:0])[:fingerprintHexLen/2])
	return string(out[:])
}

// Hasher computes fingerprints like Key.Fingerprint but reuses its HMAC
// state, and remembers the fingerprints it computed last: traffic repeats
// the same tokens, ids and addresses, and recognising one again by two
// seeded 64-bit hashes of its bytes (a false match has odds of 2^-128, and
// the seeds are random per Hasher, so no input can be built to collide)
// costs a fraction of the HMAC and no allocation. It keeps those hashes and
// fingerprints, never a value. Get one per goroutine from Key.Hasher: a
// Hasher is not safe for concurrent use.
type Hasher struct {
	mac   hash.Hash
	buf   []byte
	sum   [sha256.Size]byte
	seeds [2]maphash.Seed
	known map[[2]uint64]string
}

// maxKnownFingerprints bounds what a Hasher remembers; it starts afresh
// when full.
const maxKnownFingerprints = 4096

// Hasher returns a new Hasher keyed with k.
func (k Key) Hasher() *Hasher {
	return &Hasher{mac: hmac.New(sha256.New, k.b[:]), buf: make([]byte, 0, 64),
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()},
		known: make(map[[2]uint64]string)}
}

// Fingerprint returns the same value as Key.Fingerprint(kind, value).
func (h *Hasher) Fingerprint(kind string, value []byte) string {
	h.buf = append(append(append(h.buf[:0], kind...), 0), value...)
	id := [2]uint64{maphash.Bytes(h.seeds[0], h.buf), maphash.Bytes(h.seeds[1], h.buf)}
	if fp, ok := h.known[id]; ok {
		return fp
	}
	fp := h.fingerprint(kind, value)
	if len(h.known) >= maxKnownFingerprints {
		clear(h.known)
	}
	h.known[id] = fp
	return fp
}

// fingerprint computes what Fingerprint returns.
func (h *Hasher) fingerprint(kind string, value []byte) string {
	h.mac.Reset()
	h.buf = append(append(h.buf[:0], kind...), 0)
	h.mac.Write(h.buf)
	h.mac.Write(value)

	var out [len(FingerprintPrefix) + fingerprintHexLen]byte
	copy(out[:], FingerprintPrefix)
	hex.Encode(out[len(FingerprintPrefix):], h.mac.Sum(h.sum[:0])[:fingerprintHexLen/2])
	return string(out[:])
}
