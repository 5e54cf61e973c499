package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apitap/apitap/sensor/analysis"
)

// writeTable prints a report for people: the summary, then each section
// as an aligned table.
func writeTable(w io.Writer, r *analysis.Report) {
	s := r.Summary
	fmt.Fprintf(w, "SUMMARY\n  packets %d  flows %d  exchanges %d (unanswered %d)  tls flows %d  dns %d\n",
		s.Packets, s.Flows, s.Exchanges, s.Unanswered, s.TLSFlows, s.DNS)
	if s.First != nil {
		fmt.Fprintf(w, "  time    %s → %s (%s)\n", s.First.Format(time.RFC3339),
			s.Last.Format(time.RFC3339),
			s.Last.Sub(*s.First).Round(time.Millisecond))
	}
	if len(s.ParseErrors) > 0 {
		var parts []string
		for _, k := range sortedKeys(s.ParseErrors) {
			parts = append(parts, fmt.Sprintf("%s=%d", k, s.ParseErrors[k]))
		}
		fmt.Fprintf(w, "  parse errors: %s\n", strings.Join(parts, " "))
	}
	if s.Gaps > 0 {
		fmt.Fprintf(w, "  reassembly gaps %d (%d bytes lost)\n", s.Gaps, s.LostBytes)
	}
	writeSections(w, r)
}

func newTab(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedKeys64(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func writeSections(w io.Writer, r *analysis.Report) {
	if len(r.Endpoints) > 0 {
		fmt.Fprintln(w, "\nENDPOINTS")
		tw := newTab(w)
		fmt.Fprintln(tw, "  SERVICE\tHOST\tMETHOD\tTEMPLATE\tSTATUS\tREQS\tRESPONSES\tCLIENTS\t"+
			"AUTH\tLAST SEEN")
		for _, e := range r.Endpoints {
			var st []string
			for _, k := range sortedKeys64(e.Statuses) {
				st = append(st, fmt.Sprintf("%s×%d", k, e.Statuses[k]))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", e.Service, orDash(e.Host),
				e.Method, e.Template, e.SpecStatus, e.Requests, orDash(strings.Join(st, " ")),
				e.Clients, orDash(strings.Join(e.Auth, ",")), ts(e.LastSeen))
		}
		tw.Flush()
		var drift []string
		for _, e := range r.Endpoints {
			for _, d := range e.Drift {
				drift = append(drift, fmt.Sprintf("  %s %s %s: %s", e.Host, e.Method, e.Template, d))
			}
		}
		if len(drift) > 0 {
			fmt.Fprintln(w, "\nDRIFT FROM SPEC")
			fmt.Fprintln(w, strings.Join(drift, "\n"))
		}
	}
	if len(r.ThirdParties) > 0 {
		fmt.Fprintln(w, "\nTHIRD PARTIES")
		tw := newTab(w)
		fmt.Fprintln(tw, "  DESTINATION\tVENDOR\tCATEGORY\tTIER\tEVIDENCE\tPROTO\tFLOWS\t"+
			"BYTES OUT\tDECLARED\tFIRST SEEN\tLAST SEEN")
		for _, t := range r.ThirdParties {
			v := "unclassified"
			if t.Vendor != nil {
				v = *t.Vendor
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%v\t%s\t%s\n", t.Hostname, v,
				orDash(string(t.Category)), orDash(t.Tier), strings.Join(t.Evidence, ","),
				strings.Join(t.Protocols, ","), t.Flows, t.BytesOut, t.Declared, ts(t.FirstSeen),
				ts(t.LastSeen))
		}
		tw.Flush()
	}
	if len(r.DataFlows) > 0 {
		fmt.Fprintln(w, "\nDATA FLOWS")
		tw := newTab(w)
		fmt.Fprintln(tw, "  DESTINATION\tVENDOR\tDATA CLASS\tPOSITION\tDIRECTION\tCOUNT\tRISK\tPLAINTEXT")
		for _, d := range r.DataFlows {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%d\t%.1f\t%v\n", d.Destination, orDash(d.Vendor),
				d.DataClass, d.Position, d.Direction, d.Count, d.Risk, d.Plaintext)
		}
		tw.Flush()
	}
	if len(r.Credentials) > 0 {
		fmt.Fprintln(w, "\nCREDENTIALS")
		tw := newTab(w)
		fmt.Fprintln(tw, "  FINGERPRINT\tTYPE\tISSUER\tDESTINATIONS\tCLIENTS\tLAST SEEN")
		for _, c := range r.Credentials {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d\t%s\n", c.Fingerprint, c.Type, orDash(c.Issuer),
				strings.Join(c.Destinations, ","), c.Clients, ts(c.LastSeen))
		}
		tw.Flush()
	}
	if len(r.Findings) > 0 {
		fmt.Fprintln(w, "\nFINDINGS")
		tw := newTab(w)
		fmt.Fprintln(tw, "  SEVERITY\tTYPE\tDESTINATION\tCOUNT\tTITLE")
		for _, f := range r.Findings {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", f.Severity, f.Type, f.Destination, f.Count, f.Title)
		}
		tw.Flush()
	}
}
