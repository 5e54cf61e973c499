package main

import (
	"flag"
	"io"
	"strings"

	"github.com/apitap/apitap/sensor/vendor"
)

func runVendors(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vendors", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		io.WriteString(stderr, "usage: apitap vendors [QUERY]\n\n"+
			"Lists the embedded vendor catalog, or the entries whose id, name, domain or\n"+
			"category contains QUERY.\n")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	q := strings.Join(fs.Args(), " ")
	cat := vendor.Default()
	list := cat.Vendors()
	if q != "" {
		list = cat.Search(q)
	}
	return vendor.WriteTable(stdout, list)
}
