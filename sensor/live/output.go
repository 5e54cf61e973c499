package live

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/apitap/apitap/pipeline/kafka"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/pipeline/spool"
	"github.com/apitap/apitap/sensor/config"
)

// output is the sink findings go to; kafka is set when it is Kafka (for
// its spool and error counters).
type output struct {
	sink  sink.Sink
	kafka *kafka.Sink
}

// openSink opens the configured sink: Kafka (with its spool), a file, or
// standard output as JSON lines.
func openSink(ctx context.Context, sc *config.Config, stdout io.Writer, log *slog.Logger) (*output, error) {
	o := &sc.Output
	switch o.Type {
	case "kafka":
		ks, err := kafka.New(ctx, KafkaConfig(&o.Kafka, log))
		if err != nil {
			return nil, err
		}
		return &output{sink: ks, kafka: ks}, nil
	case "file":
		fs, err := sink.NewFile(sink.FileConfig{Path: o.File.Path})
		if err != nil {
			return nil, err
		}
		return &output{sink: fs}, nil
	}
	if o.Format == "table" {
		log.Warn("output.format table is for apitap read; the daemon writes json lines")
	}
	if stdout == nil {
		stdout = os.Stdout
	}
	return &output{sink: sink.NewWriter(stdout)}, nil
}

// KafkaConfig turns a config file's output.kafka section into the Kafka
// sink's configuration.
func KafkaConfig(k *config.Kafka, log *slog.Logger) kafka.Config {
	c := kafka.Config{
		Brokers:        k.Brokers,
		FindingsTopic:  k.Topics.Findings,
		InventoryTopic: k.Topics.Inventory,
		Compression:    k.Compression,
		BatchSize:      k.Batch.Messages,
		BatchBytes:     int64(k.Batch.Bytes),
		BatchTimeout:   k.Batch.Timeout,
		TLSEnable:      k.TLS.Enabled,
		CAFile:         k.TLS.CA,
		CertFile:       k.TLS.Cert,
		KeyFile:        k.TLS.Key,
		SASLUser:       k.SASL.User,
		SASLPassword:   k.SASL.Password.Reveal(),
		Spool:          spool.Config{Dir: k.Spool.Dir, MaxBytes: int64(k.Spool.MaxSize)},
		Logger:         log,
	}
	if m := k.SASL.Mechanism; m != "none" {
		c.SASLMechanism = m
	}
	return c
}
