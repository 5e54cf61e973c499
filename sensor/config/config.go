package config

import (
	"github.com/apitap/apitap/sensor/detect"
	"runtime"
	"time"
)

// DefaultPath is where the daemon looks for its configuration.
const DefaultPath = "/etc/apitap/apitap.yaml"

// Struct tags read by the loader besides `yaml`:
//
//	enum:"a,b,c"   the value (or each list element) must be one of these
//	min:"N" max:"N" inclusive range for numbers, sizes and durations
//	check:"..."    cidr, file, glob, hostport, ident (see checkValue)
//	keys:"..."     like check/enum, applied to the keys of a map
//
// Keeping the rules next to the fields means the example file, the docs
// and the validator cannot drift apart.

// Config is the whole sensor configuration. The zero value, after Defaults,
// is a working configuration: capture on every interface, findings as JSON
// lines on standard output.
type Config struct {
	Capture   Capture   `yaml:"capture"`
	TLS       TLS       `yaml:"tls"`
	Discovery Discovery `yaml:"discovery"`
	Vendors   Vendors   `yaml:"vendors"`
	Data      Data      `yaml:"data"`
	Output    Output    `yaml:"output"`
	// StateDir holds state that outlives a restart (inventory, key, spool
	// by default). Default /var/lib/apitap.
	StateDir string  `yaml:"state_dir"`
	Metrics  Metrics `yaml:"metrics"`
	Log      Log     `yaml:"log"`
}

// Capture configures where packets come from.
type Capture struct {
	// Mode is afpacket (default) or ebpf.
	Mode string `yaml:"mode" enum:"afpacket,ebpf"`
	// Interfaces are names or glob patterns ("veth*", "cali*"); "all" means
	// every interface. Interfaces that appear later and match a pattern are
	// picked up while running. Default ["all"].
	Interfaces []string `yaml:"interfaces" check:"glob"`
	Filter     Filter   `yaml:"filter"`
	// Snaplen is the most bytes kept of each packet. Default 262144 bytes.
	Snaplen int `yaml:"snaplen" min:"64" max:"262144"`
	// Workers is the number of capture and flow workers; each owns a share
	// of the flows. Default: the number of CPUs, at most 16.
	Workers int  `yaml:"workers" min:"1" max:"256"`
	Ring    Ring `yaml:"ring"`
	// Promiscuous puts the interfaces in promiscuous mode. Default false:
	// the sensor sees the host's own traffic, which is what it reports on.
	Promiscuous bool   `yaml:"promiscuous"`
	Limits      Limits `yaml:"limits"`
}

// Filter restricts which packets are captured, in the kernel. Ports and CIDRs
// combine (a packet must match both when both are set); Expression is a
// tcpdump expression and replaces them.
type Filter struct {
	// Ports keeps TCP/UDP/SCTP packets with either port in the list.
	Ports []int `yaml:"ports" min:"1" max:"65535"`
	// CIDRs keeps IP packets with either address in one of the prefixes.
	CIDRs []string `yaml:"cidrs" check:"cidr"`
	// Expression is a tcpdump filter; it needs a sensor built with libpcap
	// (-tags pcap).
	Expression string `yaml:"expression"`
}

// Ring sizes the AF_PACKET TPACKET_V3 ring of each socket (one socket per
// worker per interface).
type Ring struct {
	// BlockSize is the size of one ring block; it must be a multiple of
	// 4KiB and hold the largest packet. Default 1MiB.
	BlockSize Size `yaml:"block_size" min:"4KiB" max:"128MiB"`
	// Blocks is the number of blocks per ring. Default 32.
	Blocks int `yaml:"blocks" min:"2" max:"4096"`
	// BlockTimeout hands a partly filled block to the sensor after this
	// long. Default 50ms.
	BlockTimeout time.Duration `yaml:"block_timeout" min:"1ms" max:"10s"`
}

// Limits bound the memory the flow tables and reassembly may use.
type Limits struct {
	// MaxFlows is the most flows tracked at once. Default 100000.
	MaxFlows int `yaml:"max_flows" min:"1" max:"100000000"`
	// MaxFlowBytes is the most bytes buffered for one flow. Default 1MiB.
	MaxFlowBytes Size `yaml:"max_flow_bytes" min:"4KiB" max:"1GiB"`
	// MaxTotalBytes is the most bytes buffered for all flows. Default 256MiB.
	MaxTotalBytes Size `yaml:"max_total_bytes" min:"1MiB" max:"64GiB"`
	// IdleTimeout evicts a flow that saw no packet for this long.
	// Default 2m.
	IdleTimeout time.Duration `yaml:"idle_timeout" min:"1s" max:"24h"`
}

// TLS configures plaintext capture of TLS traffic.
type TLS struct {
	// Uprobes attaches eBPF uprobes to TLS libraries to read plaintext.
	// Default false. Needs capture.mode ebpf.
	Uprobes bool `yaml:"uprobes"`
}

// Discovery configures the API inventory.
type Discovery struct {
	// Specs are OpenAPI files describing the declared APIs.
	Specs []string `yaml:"specs" check:"file"`
	// SpecHosts maps a spec file to the hosts it describes; a spec not
	// listed applies to the hosts in its own servers section.
	SpecHosts  map[string][]string `yaml:"spec_hosts" check:"ident"`
	Templating Templating          `yaml:"templating"`
	// ShadowMinRequests is how many requests an undocumented endpoint needs
	// before it is reported as shadow. Default 5.
	ShadowMinRequests int `yaml:"shadow_min_requests" min:"1" max:"1000000"`
}

// Templating decides when sibling literal path segments collapse into a
// {parameter} (/users/alice, /users/bob, … → /users/{user}). Typed segments
// (numbers, UUIDs, tokens…) become parameters at once; these settings only
// govern plain words.
type Templating struct {
	// CollapseThreshold is how many distinct sibling literals with the same
	// prefix and suffix collapse into a parameter. Default 8.
	CollapseThreshold int `yaml:"collapse_threshold" min:"2" max:"1000000"`
	// KeepFrequentFactor keeps a sibling literal (/users/me) when it is
	// seen this many times the median of the others. Default 4.
	KeepFrequentFactor int `yaml:"keep_frequent_factor" min:"2" max:"1000"`
}

// Vendors configures third-party classification and data policy.
type Vendors struct {
	// Declared lists the approved vendors by catalog id.
	Declared []string `yaml:"declared" check:"ident"`
	// DeclaredFile is a file with one declared vendor id per line.
	DeclaredFile string `yaml:"declared_file" check:"file"`
	// Catalog is a YAML file that adds to or overrides the built-in vendor
	// catalog.
	Catalog string `yaml:"catalog" check:"file"`
	// Tiers moves vendors to another tier than the catalog's (vendor id ->
	// tier). Tiers, from most to least trusted: critical, trusted,
	// limited, minimal.
	Tiers map[string]string `yaml:"tiers" keys:"ident" enum:"critical,trusted,limited,minimal"`
	// Policy lists what a tier or a vendor may receive (tier or vendor id
	// -> entries): a data class (email, jwt, …), a category (credential,
	// pii, identifier) or "*". Data sent to an external destination that
	// its entry does not list is a data_policy_violation. When the section
	// is absent the built-in policy applies: critical "*", trusted pii and
	// identifiers, limited identifiers, minimal and unclassified nothing.
	Policy map[string][]string `yaml:"policy" keys:"ident" check:"dataclass"`
}

// Data configures sensitive-data detection.
type Data struct {
	// Detectors turns detectors on or off by data class (email, jwt, …);
	// all are on by default.
	Detectors map[string]bool `yaml:"detectors" keys:"detector"`
	// KeyFile holds the HMAC key for credential fingerprints. Default
	// <state_dir>/fingerprint.key, created on first start.
	KeyFile string `yaml:"key_file"`
	// ResponseSampleEvery: past the first 64 bodies a local service sends
	// for one method, one in this many is scanned for sensitive data (one
	// in four times this many while the scanned ones show none). 1 scans
	// every body; 0 means the default, 16. Requests to remote destinations
	// are always scanned whole.
	ResponseSampleEvery int `yaml:"response_sample_every" min:"0" max:"65536"`
}

// DetectorNames are the detectors data.detectors may switch: the data
// classes of sensor/detect.
var DetectorNames = detect.Classes()

// policyEntries are what a policy list may hold besides class names.
var policyEntries = []string{"*", "credential", "pii", "identifier"}

// Output configures where findings go.
type Output struct {
	// Type is stdout (default), file or kafka.
	Type string `yaml:"type" enum:"stdout,file,kafka"`
	// Format is json (default, one OCSF record per line) or table.
	Format string     `yaml:"format" enum:"json,table"`
	File   OutputFile `yaml:"file"`
	Kafka  Kafka      `yaml:"kafka"`
}

// OutputFile configures the file sink.
type OutputFile struct {
	// Path is the file findings are appended to. Required for type file.
	Path string `yaml:"path"`
}

// Kafka configures the Kafka sink.
type Kafka struct {
	// Brokers are host:port seeds. Required for type kafka.
	// Environment: APITAP_KAFKA_BROKERS (comma-separated).
	Brokers []string `yaml:"brokers" check:"hostport"`
	Topics  Topics   `yaml:"topics"`
	// Compression is zstd (default), lz4, snappy, gzip or none.
	Compression string   `yaml:"compression" enum:"zstd,lz4,snappy,gzip,none"`
	Batch       Batch    `yaml:"batch"`
	TLS         TLSFiles `yaml:"tls"`
	SASL        SASL     `yaml:"sasl"`
	Spool       Spool    `yaml:"spool"`
}

// Topics names the Kafka topics.
type Topics struct {
	// Findings default apitap.findings; Inventory default apitap.inventory.
	Findings  string `yaml:"findings" check:"topic"`
	Inventory string `yaml:"inventory" check:"topic"`
}

// Batch bounds a Kafka batch.
type Batch struct {
	// Messages per batch. Default 1000.
	Messages int `yaml:"messages" min:"1" max:"1000000"`
	// Bytes per batch. Default 1MiB.
	Bytes Size `yaml:"bytes" min:"1KiB" max:"64MiB"`
	// Timeout sends a partial batch after this long. Default 500ms.
	Timeout time.Duration `yaml:"timeout" min:"1ms" max:"1m"`
}

// TLSFiles are PEM files for a TLS client; with none set, the connection
// is plaintext.
type TLSFiles struct {
	// Enabled turns TLS on with the system roots when CA is empty.
	Enabled bool   `yaml:"enabled"`
	CA      string `yaml:"ca" check:"file"`
	Cert    string `yaml:"cert" check:"file"`
	Key     string `yaml:"key" check:"file"`
}

// SASL configures Kafka authentication. The password is read from
// PasswordFile or from APITAP_KAFKA_SASL_PASSWORD, never from this file.
type SASL struct {
	// Mechanism is none (default), plain, scram-sha-256 or scram-sha-512.
	Mechanism string `yaml:"mechanism" enum:"none,plain,scram-sha-256,scram-sha-512"`
	// User. Environment: APITAP_KAFKA_SASL_USER.
	User string `yaml:"user"`
	// PasswordFile holds the password (trailing newline ignored).
	// Environment: APITAP_KAFKA_SASL_PASSWORD_FILE.
	PasswordFile string `yaml:"password_file" check:"file"`
	// Password is filled by Load from PasswordFile or the environment.
	Password Secret `yaml:"-"`
}

// Spool keeps findings on disk while Kafka is unreachable.
type Spool struct {
	// Dir default <state_dir>/spool.
	Dir string `yaml:"dir"`
	// MaxSize bounds the spool; the oldest segments go first. Default 1GiB.
	MaxSize Size `yaml:"max_size" min:"1MiB" max:"1TiB"`
}

// Metrics configures the Prometheus and health endpoint.
type Metrics struct {
	// Listen is the host:port to serve /metrics, /healthz and /readyz on;
	// "off" disables it. Default 127.0.0.1:9090. Environment:
	// APITAP_METRICS_LISTEN.
	Listen string `yaml:"listen" check:"listen"`
}

// Log configures the daemon's own log.
type Log struct {
	// Level is debug, info (default), warn or error. Environment:
	// APITAP_LOG_LEVEL.
	Level string `yaml:"level" enum:"debug,info,warn,error"`
	// Format is text (default) or json. Environment: APITAP_LOG_FORMAT.
	Format string `yaml:"format" enum:"text,json"`
}

// Defaults fills every zero field with its default. Load calls it; a
// program that builds a Config by hand calls it too.
func (c *Config) Defaults() {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	defInt := func(n *int, v int) {
		if *n == 0 {
			*n = v
		}
	}
	defSize := func(n *Size, v Size) {
		if *n == 0 {
			*n = v
		}
	}
	defDur := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}

	cp := &c.Capture
	def(&cp.Mode, "afpacket")
	if len(cp.Interfaces) == 0 {
		cp.Interfaces = []string{"all"}
	}
	defInt(&cp.Snaplen, 262144)
	defInt(&cp.Workers, min(runtime.NumCPU(), 16))
	defSize(&cp.Ring.BlockSize, 1*MiB)
	defInt(&cp.Ring.Blocks, 32)
	defDur(&cp.Ring.BlockTimeout, 50*time.Millisecond)
	defInt(&cp.Limits.MaxFlows, 100000)
	defSize(&cp.Limits.MaxFlowBytes, 1*MiB)
	defSize(&cp.Limits.MaxTotalBytes, 256*MiB)
	defDur(&cp.Limits.IdleTimeout, 2*time.Minute)

	defInt(&c.Discovery.ShadowMinRequests, 5)
	defInt(&c.Discovery.Templating.CollapseThreshold, 8)
	defInt(&c.Discovery.Templating.KeepFrequentFactor, 4)

	def(&c.StateDir, "/var/lib/apitap")
	def(&c.Data.KeyFile, c.StateDir+"/fingerprint.key")

	o := &c.Output
	def(&o.Type, "stdout")
	def(&o.Format, "json")
	def(&o.Kafka.Topics.Findings, "apitap.findings")
	def(&o.Kafka.Topics.Inventory, "apitap.inventory")
	def(&o.Kafka.Compression, "zstd")
	defInt(&o.Kafka.Batch.Messages, 1000)
	defSize(&o.Kafka.Batch.Bytes, 1*MiB)
	defDur(&o.Kafka.Batch.Timeout, 500*time.Millisecond)
	def(&o.Kafka.SASL.Mechanism, "none")
	def(&o.Kafka.Spool.Dir, c.StateDir+"/spool")
	defSize(&o.Kafka.Spool.MaxSize, 1*GiB)

	def(&c.Metrics.Listen, "127.0.0.1:9090")
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")
}
