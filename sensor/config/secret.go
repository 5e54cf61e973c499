package config

import "fmt"

// Secret holds a credential. It formats as "[redacted]" with every fmt verb,
// so a Config can be logged or printed with %+v without leaking it. Reveal
// returns the value for the one place that needs it.
type Secret string

const redacted = "[redacted]"

// Reveal returns the secret in clear.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.String()) }

// Format implements fmt.Formatter so that no verb (%x, %q, %s...) prints the
// underlying bytes.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(s.GoString()))
		return
	}
	_, _ = f.Write([]byte(s.String()))
}

// MarshalText implements encoding.TextMarshaler so JSON and YAML encoders
// write the redacted form too.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
