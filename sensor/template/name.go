package template

import "strings"

// singular turns a collection name into its item name: customers →
// customer, addresses → address, categories → category, line-items →
// lineItem. It returns "" when parent is not a word.
func singular(parent string) string {
	if parent == "" || len(parent) > 40 || parent[0] == '{' {
		return ""
	}
	// SHOUTING-CASE reads better lower-cased: AUTH-ROOT → authRoot.
	if strings.ToUpper(parent) == parent {
		parent = strings.ToLower(parent)
	}
	// camelCase the separators away; refuse anything that is not a word.
	var b strings.Builder
	up := false
	for i := 0; i < len(parent); i++ {
		c := parent[i]
		switch {
		case c == '-' || c == '_':
			up = b.Len() > 0
		case class[c]&(cLower|cUpper) != 0:
			if up && class[c]&cLower != 0 {
				c -= 'a' - 'A'
			}
			if b.Len() == 0 && class[c]&cUpper != 0 {
				c += 'a' - 'A'
			}
			b.WriteByte(c)
			up = false
		default:
			return ""
		}
	}
	w := b.String()
	switch {
	case w == "":
		return ""
	case strings.HasSuffix(w, "ies") && len(w) > 4:
		return w[:len(w)-3] + "y"
	case strings.HasSuffix(w, "sses"), strings.HasSuffix(w, "xes"),
		strings.HasSuffix(w, "ches"), strings.HasSuffix(w, "shes"), strings.HasSuffix(w, "zzes"):
		return w[:len(w)-2]
	case strings.HasSuffix(w, "ss"), strings.HasSuffix(w, "us"), strings.HasSuffix(w, "is"):
		return w
	case strings.HasSuffix(w, "s") && len(w) > 2:
		return w[:len(w)-1]
	}
	return w
}

// paramName picks the name of a parameter under parent, avoiding the names
// in used: customerId, id, id2, …. suffix is "Id" for typed ids and "" for
// collapsed literals (/users/{user}).
func paramName(parent, suffix string, k Kind, used []string) string {
	base := ""
	if s := singular(parent); s != "" {
		base = s + suffix
	}
	if k == KindDate && base == "" {
		base = "date"
	}
	if base == "" {
		base = "id"
	}
	name := base
	for n := 2; contains(used, name); n++ {
		name = base + itoa(n)
	}
	return name
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
