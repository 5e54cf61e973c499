package inventory

import "github.com/apitap/apitap/sensor/template"

// Config tunes the inventory. The zero value works; each field states its
// default.
type Config struct {
	// ShadowMinRequests is how many requests an undocumented endpoint whose
	// responses were all 4xx needs to count as shadow. Default 5.
	ShadowMinRequests int
	// MaxClients bounds the exact distinct-client set per endpoint.
	// Default 1024.
	MaxClients int
	// MaxEndpoints bounds the endpoints per inventory; exchanges for new
	// endpoints beyond it are counted in Stats.DroppedEndpoints. Default
	// 100000.
	MaxEndpoints int
	// MaxQueryParams and MaxFields bound the names kept per endpoint.
	// Defaults 64 and 256.
	MaxQueryParams int
	MaxFields      int
	// FieldSamples is how many bodies per endpoint and side are parsed for
	// field names. Default 4: an API answers with one shape, and parsing
	// more bodies costs more than the rare optional field it finds.
	FieldSamples int
	// MaxDepth bounds JSON nesting explored in bodies. Default 4.
	MaxDepth int
	// MaxEvents bounds the pending event queue; events beyond it are
	// dropped and counted. Default 10000.
	MaxEvents int
	// Collapse configures cardinality merging of literal path segments.
	Collapse template.CollapseConfig
}

func orDefault(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func (c *Config) shadowMinRequests() int64 { return int64(orDefault(c.ShadowMinRequests, 5)) }
func (c *Config) maxClients() int          { return orDefault(c.MaxClients, 1024) }
func (c *Config) maxEndpoints() int        { return orDefault(c.MaxEndpoints, 100000) }
func (c *Config) maxQueryParams() int      { return orDefault(c.MaxQueryParams, 64) }
func (c *Config) maxFields() int           { return orDefault(c.MaxFields, 256) }
func (c *Config) fieldSamples() int        { return orDefault(c.FieldSamples, 4) }
func (c *Config) maxDepth() int            { return orDefault(c.MaxDepth, 4) }
func (c *Config) maxEvents() int           { return orDefault(c.MaxEvents, 10000) }
