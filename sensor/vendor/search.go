package vendor

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Search returns the vendors of the default catalog whose id, name,
// category or one of whose domains contains query (case-insensitive), in
// catalog order. An empty query returns every vendor. It backs
// `apitap vendors`.
func Search(query string) []Vendor { return Default().Search(query) }

// Search is the package-level Search over c. The returned vendors are
// copies.
func (c *Catalog) Search(query string) []Vendor {
	q := strings.ToLower(strings.TrimSpace(query))
	var out []Vendor
	for _, v := range c.vendors {
		if q == "" || v.matches(q) {
			out = append(out, v)
		}
	}
	return out
}

func (v *Vendor) matches(q string) bool {
	if strings.Contains(v.ID, q) || strings.Contains(strings.ToLower(v.Name), q) ||
		strings.Contains(string(v.Category), q) {
		return true
	}
	for _, list := range [][]string{v.Domains, v.Hosting} {
		for _, d := range list {
			if strings.Contains(d, q) {
				return true
			}
		}
	}
	return false
}

// WriteTable prints vendors as an aligned table with the columns ID, NAME,
// CATEGORY, TIER and DOMAINS (hosting domains follow, marked "hosting:").
func WriteTable(w io.Writer, vendors []Vendor) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCATEGORY\tTIER\tDOMAINS")
	for _, v := range vendors {
		doms := strings.Join(v.Domains, ",")
		if len(v.Hosting) > 0 {
			if doms != "" {
				doms += " "
			}
			doms += "hosting:" + strings.Join(v.Hosting, ",")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, v.Category, v.Tier, doms)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("vendor: write table: %w", err)
	}
	return nil
}
