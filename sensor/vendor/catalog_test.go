package vendor

import "testing"

func TestDefaultCatalogSchema(t *testing.T) {
	vs, err := ParseVendors("catalog.yaml", catalogYAML)
	if err != nil {
		t.Fatalf("ParseVendors(catalog.yaml): %v", err)
	}
	if _, err := NewCatalog(vs); err != nil {
		t.Fatalf("NewCatalog(catalog.yaml): %v", err)
	}
	if len(vs) < 300 {
		t.Errorf("catalog has %d vendors; want at least 300", len(vs))
	}
	seen := make(map[Category]int)
	for _, v := range vs {
		seen[v.Category]++
	}
	for _, c := range Categories {
		if seen[c] == 0 {
			t.Errorf("category %q has no vendor", c)
		}
	}
}
