package analysis

import (
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/vendor"
)

// Destinations adapts the vendor analyzer's view of where an exchange went
// to what the data-flow analysis scores: the vendor, its tier and weight,
// whether it is external and declared, and the credentials it issues.
func Destinations(va *vendor.Analyzer) func(ex *exchange.Exchange) dataflow.Destination {
	return func(ex *exchange.Exchange) dataflow.Destination {
		r := va.Resolve(ex)
		d := dataflow.Destination{
			Host:     r.Hostname,
			External: r.External,
			Declared: !r.Undeclared,
		}
		if v := r.Vendor; v != nil {
			d.VendorID = v.ID
			d.VendorName = v.Name
			d.Tier = v.Tier.String()
			d.TierWeight = v.Tier.Weight()
			d.CredentialTypes = v.Credentials
		}
		return d
	}
}
