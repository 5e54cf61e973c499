package secret

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreview(t *testing.T) {
	tests := []struct {
		name  string
		class string
		value string
		want  string
	}{
		{"openai project key", "openai_api_key", "sk-proj-AAAABBBBCCCCDDDD", "sk-proj-…"},
		{"anthropic wins over openai", "anthropic_api_key", "sk-ant-api03-xyzxyzxyz", "sk-ant-api03-…"},
		{"github", "github_token", "ghp_abcdefabcdef", "ghp_…"},
		{"aws", "aws_access_key", "AKIAABCDEFGHIJKLMNOP", "AKIA…"},
		{"slack", "slack_token", "xoxb-1234-5678", "xoxb-…"},
		{"no vendor prefix", "bearer_token", "abcdefgh12345678", "…"},
		{"prefix only is not shown", "github_token", "ghp_", "…"},
		{"unknown class is a credential", "brand_new_class", "hello world", "…"},
		{"email", "email", "alice@example.com", "alic…"},
		{"short value shows half", "person_name", "Bob", "B…"},
		{"one rune shows none", "user_id", "7", "…"},
		{"runes not bytes", "person_name", "Ægir Þórsson", "Ægir…"},
		{"card shows nothing", "payment_card", "4111111111111111", "…"},
		{"ssn shows nothing", "us_ssn", "123-45-6789", "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Preview(tt.class, []byte(tt.value)); got != tt.want {
				t.Errorf("Preview(%q, …): got %q; want %q", tt.class, got, tt.want)
			}
		})
	}
}

// TestPreviewBound checks the rule over many generated values: a credential
// preview is a known prefix or nothing, and any other preview shows at most
// MaxPreviewChars characters and at most half of the value.
func TestPreviewBound(t *testing.T) {
	classes := []string{"jwt", "bearer_token", "generic_secret", "email", "phone",
		"person_name", "user_id", "geo_location", "payment_card", "future_class"}
	alphabet := []rune("abcXYZ019-_.@ é中sk-ghp_AKIAxoxb")
	seed := uint32(1)
	next := func() uint32 { seed = seed*1664525 + 1013904223; return seed >> 8 }

	for i := 0; i < 5000; i++ {
		n := int(next() % 40)
		var sb strings.Builder
		if i%3 == 0 {
			sb.WriteString(vendorPrefixes[int(next())%len(vendorPrefixes)])
		}
		for j := 0; j < n; j++ {
			sb.WriteRune(alphabet[int(next())%len(alphabet)])
		}
		value := sb.String()
		for _, class := range classes {
			p := Preview(class, []byte(value))
			if !strings.HasSuffix(p, Ellipsis) {
				t.Fatalf("Preview(%q, %q) = %q; want a trailing ellipsis", class, value, p)
			}
			shown := strings.TrimSuffix(p, Ellipsis)
			if !strings.HasPrefix(value, shown) {
				t.Fatalf("Preview(%q, %q) = %q; shown part is not a prefix", class, value, p)
			}
			if IsCredential(class) {
				if shown != "" && !isVendorPrefix(shown) {
					t.Fatalf("Preview(%q, %q) = %q; credential shows a non-prefix", class, value, p)
				}
				if len(shown) >= len(value) && value != "" {
					t.Fatalf("Preview(%q, %q) = %q; shows the whole value", class, value, p)
				}
				continue
			}
			c := utf8.RuneCountInString(shown)
			if c > MaxPreviewChars || c > utf8.RuneCountInString(value)/2 {
				t.Fatalf("Preview(%q, %q) = %q; shows %d characters", class, value, p, c)
			}
		}
	}
}

func isVendorPrefix(s string) bool {
	for _, p := range vendorPrefixes {
		if p == s {
			return true
		}
	}
	return false
}

func BenchmarkPreview(b *testing.B) {
	v := []byte("sk-proj-0000000000000000000000000000000000000000")
	b.ReportAllocs()
	for b.Loop() {
		Preview("openai_api_key", v)
	}
}

// TestAppendPreview holds AppendPreview to Preview.
func TestAppendPreview(t *testing.T) {
	dst := []byte("x")
	for _, class := range []string{"jwt", "github_token", "email", "person_name", "payment_card"} {
		for _, v := range []string{"", "a", "ghp_abcdefabcdef", "Ægir Þórsson", "a@example.com"} {
			got := string(AppendPreview(dst[:1], class, []byte(v)))
			if want := "x" + Preview(class, []byte(v)); got != want {
				t.Errorf("AppendPreview(x, %q, %q): got %q; want %q", class, v, got, want)
			}
		}
	}
}
