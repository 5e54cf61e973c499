package ocsf

import "strings"

// checkEvidence walks evidence and refuses any string that looks like a raw
// credential. Upstream redaction is the real control; this is the last line
// before bytes leave the host.
func checkEvidence(m map[string]any) error {
	for k, v := range m {
		if looksLikeSecret(k) {
			return ErrRawSecret
		}
		if err := checkValue(v, 0); err != nil {
			return err
		}
	}
	return nil
}

func checkValue(v any, depth int) error {
	if depth > maxDepth {
		return nil
	}
	switch x := v.(type) {
	case string:
		if looksLikeSecret(x) {
			return ErrRawSecret
		}
	case []string:
		for _, s := range x {
			if looksLikeSecret(s) {
				return ErrRawSecret
			}
		}
	case []any:
		for _, s := range x {
			if err := checkValue(s, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, s := range x {
			if looksLikeSecret(k) {
				return ErrRawSecret
			}
			if err := checkValue(s, depth+1); err != nil {
				return err
			}
		}
	case map[string]string:
		for k, s := range x {
			if looksLikeSecret(k) || looksLikeSecret(s) {
				return ErrRawSecret
			}
		}
	}
	return nil
}

// looksLikeSecret reports whether s contains something shaped like a live
// credential. A redacted preview ("eyJh…", "Bearer ****abcd") carries a mask
// character and passes. It scans with plain string searches, no regexp.
func looksLikeSecret(s string) bool {
	if len(s) < 16 {
		return false
	}
	if strings.ContainsAny(s, "*…") {
		// Masked previews are what redaction produces.
		return false
	}
	if hasJWT(s) {
		return true
	}
	low := s
	if hasUpper(s) {
		low = strings.ToLower(s)
	}
	for _, p := range [...]string{"bearer ", "basic "} {
		if i := strings.Index(low, p); i >= 0 && tokenLen(s[i+len(p):]) >= 12 {
			return true
		}
	}
	if strings.Contains(s, "-----BEGIN") && strings.Contains(s, "PRIVATE KEY") {
		return true
	}
	for _, p := range [...]string{"AKIA", "ASIA"} {
		for off := 0; ; {
			i := strings.Index(s[off:], p)
			if i < 0 {
				break
			}
			i += off
			if upperAlnumRun(s[i+4:]) >= 16 {
				return true
			}
			off = i + 4
		}
	}
	for _, p := range [...]string{"sk_live_", "rk_live_", "ghp_", "gho_", "github_pat_", "xoxb-",
		"xoxp-", "glpat-", "AIza"} {
		if i := strings.Index(s, p); i >= 0 && tokenLen(s[i+len(p):]) >= 16 {
			return true
		}
	}
	return false
}

// hasJWT finds "eyJ" followed by base64url, '.', base64url, '.', which is a
// JWS header and payload.
func hasJWT(s string) bool {
	for off := 0; ; {
		i := strings.Index(s[off:], "eyJ")
		if i < 0 {
			return false
		}
		i += off
		rest := s[i:]
		n1 := b64urlRun(rest)
		if n1 >= 10 && n1 < len(rest) && rest[n1] == '.' {
			rest = rest[n1+1:]
			n2 := b64urlRun(rest)
			if n2 >= 10 && n2 < len(rest) && rest[n2] == '.' {
				return true
			}
		}
		off = i + 3
	}
}

func b64urlRun(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return i
		}
	}
	return len(s)
}

func tokenLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '"' || c == ',' || c == ';' || c == '&' {
			return i
		}
	}
	return len(s)
}

func upperAlnumRun(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return i
		}
	}
	return len(s)
}

func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 'A' && s[i] <= 'Z' {
			return true
		}
	}
	return false
}
