package analysis

import (
	"fmt"
	"sort"

	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/template"
	"github.com/apitap/apitap/sensor/vendor"
)

// PolicyFrom turns the vendors.policy section of a config (a tier name or
// a vendor id → what it may receive) into the data-flow policy. The key
// "unclassified" covers external destinations no vendor is known for. An
// empty section means the built-in dataflow.DefaultPolicy.
func PolicyFrom(section map[string][]string) dataflow.Policy {
	if len(section) == 0 {
		return dataflow.DefaultPolicy()
	}
	p := dataflow.Policy{Tiers: map[string][]string{}, Vendors: map[string][]string{},
		Default: []string{}}
	for k, list := range section {
		list = append([]string{}, list...)
		switch {
		case k == "unclassified":
			p.Default = list
		case isTier(k):
			p.Tiers[k] = list
		default:
			p.Vendors[k] = list
		}
	}
	// Tiers the section leaves out keep their built-in rule.
	for t, list := range dataflow.DefaultPolicy().Tiers {
		if _, ok := p.Tiers[t]; !ok {
			p.Tiers[t] = list
		}
	}
	return p
}

func isTier(s string) bool {
	_, err := vendor.ParseTier(s)
	return err == nil
}

// WithTiers returns cat with the vendors of tiers (vendor id → tier name)
// moved to those tiers. An unknown vendor id or tier is an error.
func WithTiers(cat *vendor.Catalog, tiers map[string]string) (*vendor.Catalog, error) {
	if len(tiers) == 0 {
		return cat, nil
	}
	ids := make([]string, 0, len(tiers))
	for id := range tiers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var over []vendor.Vendor
	for _, id := range ids {
		v := cat.ByID(id)
		if v == nil {
			return nil, fmt.Errorf("vendors.tiers: %q is not a vendor of the catalog", id)
		}
		t, err := vendor.ParseTier(tiers[id])
		if err != nil {
			return nil, fmt.Errorf("vendors.tiers.%s: %w", id, err)
		}
		c := *v
		c.Tier = t
		over = append(over, c)
	}
	return cat.Merge(over)
}

// DataConfig maps a config's data policy (vendors.policy), detector
// switches (data.detectors) and body sampling (data.response_sample_every)
// to the data-flow analysis.
func DataConfig(sc *config.Config) dataflow.Config {
	cfg := dataflow.Config{Policy: PolicyFrom(sc.Vendors.Policy), Disabled: map[string]bool{},
		ResponseSampleEvery: int64(sc.Data.ResponseSampleEvery)}
	for class, on := range sc.Data.Detectors {
		if !on {
			cfg.Disabled[class] = true
		}
	}
	return cfg
}

// InventoryConfig maps the discovery section of a config to the inventory.
func InventoryConfig(d *config.Discovery) inventory.Config {
	return inventory.Config{
		ShadowMinRequests: d.ShadowMinRequests,
		Collapse: template.CollapseConfig{
			Threshold:      d.Templating.CollapseThreshold,
			FrequentFactor: d.Templating.KeepFrequentFactor,
		},
	}
}
