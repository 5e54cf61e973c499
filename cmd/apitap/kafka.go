package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/apitap/apitap/pipeline/kafka"
	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/pipeline/sink"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/live"
)

// kafkaConfig is the daemon's mapping of output.kafka, with spoolDir used
// when the section names no spool directory.
func kafkaConfig(k *config.Kafka, spoolDir string, log *slog.Logger) kafka.Config {
	c := live.KafkaConfig(k, log)
	if c.Spool.Dir == "" {
		c.Spool.Dir = spoolDir
	}
	return c
}

// splitBrokers parses a --kafka flag: comma-separated host:port seeds.
func splitBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// kafkaPublisher connects to Kafka (checking the topics exist) and returns
// a publisher whose queue blocks rather than drops, as an offline run
// wants, and the function that drains it: it returns once every event is
// acknowledged or spooled, or when timeout passes.
func kafkaPublisher(ctx context.Context, cfg kafka.Config) (*sink.Publisher, func(time.Duration) error, error) {
	if err := reachable(ctx, cfg.Brokers); err != nil {
		return nil, nil, err
	}
	ks, err := kafka.New(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kafka: %w", err)
	}
	q := sink.NewQueue(ks, sink.QueueConfig{Block: true, Logger: cfg.Logger})
	host, _ := os.Hostname()
	pub := sink.NewPublisher(q, ocsf.Identity{SensorVersion: version, Hostname: host})
	drain := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		if err := q.Close(ctx); err != nil {
			return fmt.Errorf("kafka: deliver events: %w", err)
		}
		st := ks.Stats()
		if left := int64(st.Spooled) - int64(st.Replayed); left > 0 || st.Dropped > 0 {
			return fmt.Errorf("kafka: %d events left in the spool at %s (sent on the next run "+
				"that reaches the brokers), %d dropped", max(left, 0), cfg.Spool.Dir, st.Dropped)
		}
		return nil
	}
	return pub, drain, nil
}

// reachable checks that at least one broker accepts a connection. The sink
// itself would spool everything for an unreachable cluster, which suits a
// daemon riding out an outage but not a one-off run with a typo in it.
func reachable(ctx context.Context, brokers []string) error {
	var d net.Dialer
	var last error
	for _, b := range brokers {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := d.DialContext(dctx, "tcp", b)
		cancel()
		if err == nil {
			c.Close()
			return nil
		}
		last = err
	}
	return fmt.Errorf("kafka: no broker reachable: %w", last)
}
