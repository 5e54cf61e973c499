package template

import (
	"math/rand/v2"
	"testing"
)

// TestQuickKindAgrees holds the fast path to Classify: wherever quickKind
// answers, Classify (in and out of a version position) must give the same
// kind, and the common id shapes must take the fast path at all.
func TestQuickKindAgrees(t *testing.T) {
	fixed := []struct {
		seg   string
		quick bool
	}{
		{"42", true}, {"123456789012", true}, {"4111111111111111", false},
		{"users", true}, {"api", true}, {"v1", true}, {"v2beta1", true}, {"V1", false},
		{"deadbeef", false}, {"cafe", true},
		{"507f1f77bcf86cd799439011", true}, {"aaaaaaaaaaaaaaaaaaaaaaaa", false},
		{"9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5b", true},
		{"9f0c6b1e-2c3d-4e5f-8a9b-0c1d2e3f4a5g", false}, {"2024-01-31", false},
		{"my-post", false}, {"Users", false}, {"", false}, {"report.csv", false},
	}
	for _, tt := range fixed {
		t.Run(tt.seg, func(t *testing.T) {
			k, ok := quickKind(tt.seg)
			if ok != tt.quick {
				t.Fatalf("quickKind(%q) ok = %v; want %v", tt.seg, ok, tt.quick)
			}
			checkQuick(t, tt.seg, k, ok)
		})
	}

	// Random segments over alphabets that reach every branch of both.
	alphabets := []string{"0123456789", "abcdef0123456789", "abcdefghijklmnopqrstuvwxyz",
		"abcdefABCDEF0123456789-", "abcxyzABC019-_.@%+v", "v0123456789abcz"}
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 0, 40)
	for range 200000 {
		a := alphabets[r.IntN(len(alphabets))]
		buf = buf[:0]
		for range r.IntN(38) {
			buf = append(buf, a[r.IntN(len(a))])
		}
		if r.IntN(8) == 0 && len(buf) == 36 {
			for _, i := range []int{8, 13, 18, 23} {
				buf[i] = '-'
			}
		}
		if r.IntN(4) == 0 && len(buf) > 0 {
			buf[0] = 'v'
		}
		seg := string(buf)
		k, ok := quickKind(seg)
		checkQuick(t, seg, k, ok)
	}
}

func checkQuick(t *testing.T, seg string, k Kind, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	// scan takes a quick literal that is not all lower-case letters for a
	// version without asking isVersionLike.
	if all := quickClasses(seg); k == KindLiteral && all&cLower == 0 && !isVersionLike(seg) {
		t.Fatalf("quickKind(%q) is a literal, neither a word nor a version", seg)
	}
	for _, vp := range []bool{false, true} {
		if want := Classify(seg, vp); k != want {
			t.Fatalf("quickKind(%q) = %v; Classify(%q, %v) = %v", seg, k, seg, vp, want)
		}
	}
}

func quickClasses(seg string) uint8 {
	all := uint8(0xff)
	for i := 0; i < len(seg); i++ {
		all &= class[seg[i]]
	}
	return all
}
