package vendor

import (
	"github.com/apitap/apitap/sensor/egress"
	"github.com/apitap/apitap/sensor/exchange"
)

// Resolution says where one exchange went, for analyses that score data by
// destination (sensor/dataflow).
type Resolution struct {
	// Hostname is the best name for the server (Host, else the client's DNS
	// answer, else the address); RegistrableDomain its eTLD+1.
	Hostname          string
	RegistrableDomain string
	// External is false for local servers and internal names; such a
	// destination is never a third party.
	External bool
	// Vendor is the catalog entry, nil when unclassified. HostedOn is set
	// instead when the name is a customer's site on a hosting platform.
	Vendor   *Vendor
	HostedOn *Vendor
	// Undeclared is true only when a declared list is configured and does
	// not approve this destination for the exchange's source.
	Undeclared bool
}

// Tier returns the vendor's tier, TierUnknown when unclassified.
func (r *Resolution) Tier() Tier {
	if r.Vendor == nil {
		return TierUnknown
	}
	return r.Vendor.Tier
}

// Resolve names the destination of ex the way Exchange does, without
// recording anything. It allocates for the declared-list check and for
// address-only names; call it once per exchange.
func (a *Analyzer) Resolve(ex *exchange.Exchange) Resolution {
	server := serverOf(ex).Unmap()
	host := egress.NormalizeHost(ex.Host)
	if host == "" {
		if name, ok := a.cache.Lookup(ex.Client.Addr(), server, ex.Start); ok {
			host = name
		}
	}
	r := Resolution{Hostname: host}
	if host == "" && server.IsValid() {
		r.Hostname = server.String()
	}
	r.RegistrableDomain = egress.Registrable(r.Hostname)
	// A call without a known address is external by its name alone.
	r.External = ex.Direction != exchange.DirInbound &&
		(server.IsValid() && !a.cls.Local(server) || !server.IsValid() && host != "") &&
		(host == "" || !a.cls.InternalName(host))
	if host != "" {
		if i, hosted := a.cat.lookup(host); i >= 0 && hosted {
			r.HostedOn = &a.cat.vendors[i]
		} else if i >= 0 {
			r.Vendor = &a.cat.vendors[i]
		}
	}
	if r.External && a.cfg.Declared != nil {
		d := dest{hostname: r.Hostname, registrable: r.RegistrableDomain, vendor: r.Vendor}
		r.Undeclared = !a.declared(&d, ex.Process, ex.Client.Addr())
	}
	return r
}
