package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/apitap/apitap/pipeline/fleet"
	"github.com/apitap/apitap/pipeline/ocsf"
	"github.com/apitap/apitap/sensor/config"
)

// runAggregate runs the fleet aggregator: a Kafka consumer-group member
// that merges many sensors' inventory and findings into fleet-wide ones.
// Start several for more throughput or for failover; they share the
// partitions of the input topics.
func runAggregate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	brokers := fs.String("kafka", "", "Kafka `BROKERS` (host:port,…); or output.kafka.brokers of --config")
	group := fs.String("group", fleet.DefaultGroupID, "consumer `GROUP` shared by the aggregator instances")
	cfgFile := fs.String("config", "", "config `FILE`: output.kafka sets topics, TLS and SASL")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: apitap aggregate --kafka BROKERS [flags]\n\n"+
			"Consumes apitap.inventory and apitap.findings from every sensor, merges them per\n"+
			"service across nodes, and publishes apitap.fleet.inventory and apitap.fleet.findings.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	var k config.Kafka
	if *cfgFile != "" {
		c, err := config.Load(*cfgFile, nil)
		if err != nil {
			return err
		}
		k = c.Output.Kafka
	}
	if *brokers != "" {
		k.Brokers = splitBrokers(*brokers)
	}
	if len(k.Brokers) == 0 {
		fs.Usage()
		return &usageError{"aggregate: --kafka BROKERS (or a config with output.kafka.brokers) is required"}
	}
	log := slog.New(slog.NewTextHandler(stderr, nil)).With("component", "fleet.Aggregator")
	host, _ := os.Hostname()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("aggregator starting", "brokers", k.Brokers, "group", *group)
	err := fleet.Run(ctx, fleet.Config{
		Kafka:    kafkaConfig(&k, "", log),
		GroupID:  *group,
		Identity: ocsf.Identity{SensorVersion: version, Hostname: host, Fleet: true},
		Logger:   log,
	})
	if err == nil {
		log.Info("aggregator stopped")
	}
	return err
}
