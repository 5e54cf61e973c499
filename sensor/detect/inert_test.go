package detect

import (
	"math/rand/v2"
	"testing"

	"github.com/apitap/apitap/sensor/secret"
)

// TestInertShape holds the skip in scanValue to what it claims: shapes finds
// nothing in any value inertShape accepts, in any position.
func TestInertShape(t *testing.T) {
	tests := []struct {
		v     string
		inert bool
	}{
		{"2", true}, {"19.99", true}, {"-42", true}, {"1.2.3.4", false}, {"created", true},
		{"blue cotton shirt", true}, {"Jane", false}, {"+14155552671", false},
		{"4111 1111 1111 1111", false}, {"123-45-6789", false}, {"ghp_x", false}, {"-", false},
		{"1e5", true}, {"sk-ant-abc", false}, {"9f86d081884c7d65", true}, {"ord_8f7a6b", false},
		{"123e4567-e89b-12d3-a456-426614174000", true},
		{"123E4567-E89B-12D3-A456-426614174000", true},
		{"123e4567-e89b-12d3-a456-42661417400", false},
		{"4111 1111 1111 1111x", false}, {"a1 b2", false}, {"abc@def", false}, {"Abc123", false},
	}
	for _, tt := range tests {
		t.Run(tt.v, func(t *testing.T) {
			if got := inertShape([]byte(tt.v)); got != tt.inert {
				t.Fatalf("inertShape(%q) = %v; want %v", tt.v, got, tt.inert)
			}
		})
	}

	sc := NewScanner(secret.Key{})
	alphabets := []string{"0123456789.", "abcdefghijklmnopqrstuvwxyz ", "0123456789-",
		"0123456789abcdef", "0123456789abcdefghijklmnopqrstuvwxyz", "0123456789 "}
	r := rand.New(rand.NewPCG(3, 4))
	buf := make([]byte, 0, 64)
	checked := 0
	for n := range 50000 {
		a := alphabets[r.IntN(len(alphabets))]
		buf = buf[:0]
		for range 1 + r.IntN(40) {
			buf = append(buf, a[r.IntN(len(a))])
		}
		if n%4 == 0 {
			// UUIDs, digit-heavy so that their groups look like card groups.
			hexes := []string{"0123456789abcdef", "0123456789ABCDEF", "0123456789", "0123456789a"}
			hex := hexes[n/4%len(hexes)]
			buf = buf[:0]
			for i := range 36 {
				if i == 8 || i == 13 || i == 18 || i == 23 {
					buf = append(buf, '-')
					continue
				}
				buf = append(buf, hex[r.IntN(len(hex))])
			}
		}
		if !inertShape(buf) {
			continue
		}
		checked++
		for _, pos := range []Position{PosBody, PosPath, PosHeader} {
			c := scanCtx{pos: pos, fn: func(m *Match) {
				t.Fatalf("shapes(%q) found %s; inertShape said it cannot", buf, m.Class)
			}}
			sc.shapes(&c, buf)
		}
	}
	if checked < 10000 {
		t.Fatalf("checked %d inert values; want at least 10000", checked)
	}
}
