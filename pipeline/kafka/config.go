package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	kafkacompress "github.com/segmentio/kafka-go/compress"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/spool"
)

// Default topic names.
const (
	DefaultFindingsTopic  = "apitap.findings"
	DefaultInventoryTopic = "apitap.inventory"
)

// Config configures a Sink. Only Brokers is required.
type Config struct {
	Brokers []string // host:port of at least one broker

	// FindingsTopic receives classes 2004 and 2006. Default apitap.findings.
	FindingsTopic string
	// InventoryTopic receives class 6003. Default apitap.inventory.
	InventoryTopic string

	// Compression is "zstd" (default), "lz4", "snappy", "gzip" or "none".
	Compression string
	// BatchSize is the most messages per produce request. Default 10000.
	BatchSize int
	// BatchBytes is the most bytes per produce request. Default 8 MiB.
	BatchBytes int64
	// BatchTimeout is how long a partial batch waits for more messages.
	// Default 1 ms (kafka-go's own default is one second): Write hands
	// kafka-go a whole batch that the sink.Queue already gathered, so a
	// longer wait only delays the acknowledgement of the last partition's
	// share of it.
	BatchTimeout time.Duration
	// WriteTimeout bounds one batch's delivery attempts before it goes to
	// the spool. Default 10 s.
	WriteTimeout time.Duration
	// MaxAttempts is how many times kafka-go tries a batch. Default 3.
	MaxAttempts int
	// RetryInterval is the pause between replay attempts while Kafka is
	// down. Default 1 s.
	RetryInterval time.Duration
	// MetadataTTL is how long partition metadata is cached. Default 5 s.
	MetadataTTL time.Duration

	// TLS: set CAFile to verify the brokers with a private CA, CertFile and
	// KeyFile for a client certificate. TLS is on if any of them is set, or
	// if TLSEnable is.
	TLSEnable  bool
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string // overrides the name checked in the broker certificate

	// SASLMechanism is "", "plain", "scram-sha-256" or "scram-sha-512".
	SASLMechanism string
	SASLUser      string
	SASLPassword  string // never logged

	// Spool holds events Kafka could not take. Spool.Dir empty disables
	// spooling: a failed batch is then an error returned by Write.
	Spool spool.Config

	// Dial replaces the TCP dialer (a proxy, or a test that counts bytes
	// on the wire). Nil uses net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	Logger *slog.Logger // nil discards
}

func (c *Config) findingsTopic() string  { return orStr(c.FindingsTopic, DefaultFindingsTopic) }
func (c *Config) inventoryTopic() string { return orStr(c.InventoryTopic, DefaultInventoryTopic) }
func (c *Config) batchSize() int         { return orInt(c.BatchSize, 10000) }
func (c *Config) batchBytes() int64 {
	if c.BatchBytes > 0 {
		return c.BatchBytes
	}
	return 8 << 20
}
func (c *Config) batchTimeout() time.Duration  { return orDur(c.BatchTimeout, time.Millisecond) }
func (c *Config) writeTimeout() time.Duration  { return orDur(c.WriteTimeout, 10*time.Second) }
func (c *Config) maxAttempts() int             { return orInt(c.MaxAttempts, 3) }
func (c *Config) retryInterval() time.Duration { return orDur(c.RetryInterval, time.Second) }
func (c *Config) metadataTTL() time.Duration   { return orDur(c.MetadataTTL, 5*time.Second) }

// topicFor maps an OCSF class to its topic.
func (c *Config) topicFor(class int) string {
	if class == ocsf.ClassAPIActivity {
		return c.inventoryTopic()
	}
	return c.findingsTopic()
}

// Codec parses a compression name.
func Codec(name string) (kafkago.Compression, error) {
	switch strings.ToLower(name) {
	case "", "zstd":
		return kafkago.Zstd, nil
	case "lz4":
		return kafkago.Lz4, nil
	case "snappy":
		return kafkago.Snappy, nil
	case "gzip":
		return kafkago.Gzip, nil
	case "none":
		return 0, nil
	}
	return 0, fmt.Errorf("kafka: unknown compression %q", name)
}

// TLSConfig builds the client TLS configuration, or nil when TLS is off.
func (c *Config) TLSConfig() (*tls.Config, error) {
	if !c.TLSEnable && c.CAFile == "" && c.CertFile == "" && c.KeyFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: c.ServerName}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: read ca file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: no certificate in ca file %s", c.CAFile)
		}
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, errors.New("kafka: client certificate needs both cert and key files")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: load client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// Mechanism builds the SASL mechanism, or nil when SASL is off.
func (c *Config) Mechanism() (sasl.Mechanism, error) {
	switch strings.ToLower(c.SASLMechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: c.SASLUser, Password: c.SASLPassword}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, c.SASLUser, c.SASLPassword)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, c.SASLUser, c.SASLPassword)
	}
	return nil, fmt.Errorf("kafka: unknown sasl mechanism %q", c.SASLMechanism)
}

// Transport builds the kafka-go transport shared by writers and clients.
func (c *Config) Transport() (*kafkago.Transport, error) {
	tc, err := c.TLSConfig()
	if err != nil {
		return nil, err
	}
	mech, err := c.Mechanism()
	if err != nil {
		return nil, err
	}
	return &kafkago.Transport{
		DialTimeout: 5 * time.Second,
		IdleTimeout: 30 * time.Second,
		MetadataTTL: c.metadataTTL(),
		ClientID:    "apitap",
		TLS:         tc,
		SASL:        mech,
		Dial:        c.Dial,
	}, nil
}

// Loggers bridges kafka-go's two loggers to slog: its informational lines
// at Debug, its error lines at Warn.
func Loggers(log *slog.Logger) (info, errs kafkago.Logger) {
	info = kafkago.LoggerFunc(func(msg string, args ...any) {
		if log.Enabled(context.Background(), slog.LevelDebug) {
			log.Debug(fmt.Sprintf(msg, args...))
		}
	})
	errs = kafkago.LoggerFunc(func(msg string, args ...any) {
		log.Warn(fmt.Sprintf(msg, args...))
	})
	return info, errs
}

// zstd at its fastest level: finding events are small and repetitive, so
// the default level buys a few percent of size for about half the CPU of
// the whole publishing path (measured by BenchmarkPublisherToKafka). The
// codec table is kafka-go's and process-wide; apitap is its only user.
func init() { kafkacompress.ZstdCodec.Level = 1 }

func orStr(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func orInt(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func orDur(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}
