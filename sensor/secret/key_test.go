package secret

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state", "nested", "fingerprint.key")

	k1, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(%q) (create): %v", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode: got %v; want 0600", got)
	}
	dst, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if got := dst.Mode().Perm(); got != 0o700 {
		t.Errorf("key dir mode: got %v; want 0700", got)
	}
	if k1 == (Key{}) {
		t.Errorf("created key is all zero")
	}

	k2, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatalf("LoadOrCreateKey(%q) (load): %v", path, err)
	}
	if k1 != k2 {
		t.Errorf("reloaded key differs from the created one")
	}

	// A second installation gets a different key.
	k3, err := LoadOrCreateKey(filepath.Join(dir, "other.key"))
	if err != nil {
		t.Fatal(err)
	}
	if k3 == k1 {
		t.Errorf("two created keys are equal")
	}
}

func TestLoadOrCreateKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		mode    os.FileMode
		content []byte
		want    error
	}{
		{"group readable", 0o640, bytes.Repeat([]byte{1}, KeySize), ErrKeyPermissions},
		{"world writable", 0o602, bytes.Repeat([]byte{1}, KeySize), ErrKeyPermissions},
		{"short", 0o600, []byte{1, 2, 3}, ErrKeySize},
		{"long", 0o600, bytes.Repeat([]byte{1}, KeySize+5), ErrKeySize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			if err := os.WriteFile(path, tt.content, tt.mode); err != nil {
				t.Fatal(err)
			}
			// WriteFile is subject to the umask; set the mode explicitly.
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKey(path)
			if !errors.Is(err, tt.want) {
				t.Errorf("LoadOrCreateKey(%s): got %v; want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestFingerprint(t *testing.T) {
	k1, _ := NewKey(bytes.Repeat([]byte{7}, KeySize))
	k2, _ := NewKey(bytes.Repeat([]byte{8}, KeySize))
	v := []byte("fake-credential-value-0123456789")

	fp := k1.Fingerprint("bearer_token", v)
	if !strings.HasPrefix(fp, FingerprintPrefix) || len(fp) != len(FingerprintPrefix)+16 {
		t.Fatalf("Fingerprint: got %q; want fp_ and 16 hex chars", fp)
	}
	if again := k1.Fingerprint("bearer_token", v); again != fp {
		t.Errorf("Fingerprint is not stable: got %q then %q", fp, again)
	}
	if other := k2.Fingerprint("bearer_token", v); other == fp {
		t.Errorf("Fingerprint ignores the key: both keys give %q", fp)
	}
	if other := k1.Fingerprint("jwt", v); other == fp {
		t.Errorf("Fingerprint ignores the kind: both kinds give %q", fp)
	}
	// Kind and value are separated, so moving a byte across the boundary
	// changes the result.
	if k1.Fingerprint("ab", []byte("c")) == k1.Fingerprint("a", []byte("bc")) {
		t.Errorf("Fingerprint does not separate kind from value")
	}
	if strings.Contains(fp, string(v[:8])) {
		t.Errorf("Fingerprint %q contains part of the value", fp)
	}
}

func TestHasherMatchesKey(t *testing.T) {
	k, _ := NewKey(bytes.Repeat([]byte{9}, KeySize))
	h := k.Hasher()
	// Twice: computed, then remembered.
	for range 2 {
		for _, v := range []string{"", "a", "fake-value-1", strings.Repeat("x", 300)} {
			for _, kind := range []string{"jwt", "email", strings.Repeat("k", 100), "ab", "a"} {
				got, want := h.Fingerprint(kind, []byte(v)), k.Fingerprint(kind, []byte(v))
				if got != want {
					t.Errorf("Hasher.Fingerprint(%q, %q): got %s; want %s", kind, v, got, want)
				}
			}
		}
	}
	// Kind and value stay apart in what the Hasher remembers too.
	if h.Fingerprint("ab", []byte("c")) == h.Fingerprint("a", []byte("bc")) {
		t.Errorf("Hasher.Fingerprint does not separate kind from value")
	}
	// More values than it remembers: it starts afresh and stays right.
	for i := range maxKnownFingerprints + 10 {
		v := []byte(strconv.Itoa(i))
		if got, want := h.Fingerprint("user_id", v), k.Fingerprint("user_id", v); got != want {
			t.Fatalf("Hasher.Fingerprint(user_id, %s): got %s; want %s", v, got, want)
		}
	}
	if len(h.known) > maxKnownFingerprints {
		t.Errorf("Hasher remembers %d fingerprints; want at most %d", len(h.known),
			maxKnownFingerprints)
	}
}

func TestNewKeySize(t *testing.T) {
	if _, err := NewKey(make([]byte, 16)); !errors.Is(err, ErrKeySize) {
		t.Errorf("NewKey(16 bytes): got %v; want ErrKeySize", err)
	}
}

func BenchmarkFingerprint(b *testing.B) {
	k, _ := NewKey(bytes.Repeat([]byte{7}, KeySize))
	v := []byte("ghp_000000000000000000000000000000000000")
	b.ReportAllocs()
	b.SetBytes(int64(len(v)))
	for b.Loop() {
		k.Fingerprint("github_token", v)
	}
}

// BenchmarkHasherFingerprint measures a value seen before (remembered) and
// values never seen (the HMAC, and remembering the result).
func BenchmarkHasherFingerprint(b *testing.B) {
	k, _ := NewKey(bytes.Repeat([]byte{7}, KeySize))
	v := []byte("ghp_000000000000000000000000000000000000")
	b.Run("seen", func(b *testing.B) {
		h := k.Hasher()
		b.ReportAllocs()
		b.SetBytes(int64(len(v)))
		for b.Loop() {
			h.Fingerprint("github_token", v)
		}
	})
	b.Run("new", func(b *testing.B) {
		h := k.Hasher()
		w := bytes.Clone(v)
		n := 0
		b.ReportAllocs()
		b.SetBytes(int64(len(w)))
		for b.Loop() {
			n++
			binary.LittleEndian.PutUint64(w[4:], uint64(n))
			h.Fingerprint("github_token", w)
		}
	})
}
