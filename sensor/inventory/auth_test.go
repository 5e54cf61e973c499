package inventory

import "testing"

// TestMayNameKey keeps the cheap pre-check in step with the map it guards:
// a header name it rejects is never looked up.
func TestMayNameKey(t *testing.T) {
	for name := range apiKeyHeaders {
		if !mayNameKey(name) {
			t.Errorf("mayNameKey(%q) = false; want true (it is in apiKeyHeaders)", name)
		}
	}
	for _, name := range []string{"accept", "host", "content-type", "user-agent", "cookie"} {
		if mayNameKey(name) {
			t.Errorf("mayNameKey(%q) = true; want false", name)
		}
	}
}
