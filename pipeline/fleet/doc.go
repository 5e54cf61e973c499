// Package fleet is the aggregator that turns many sensors' Kafka output into
// one fleet-wide inventory and fleet-level findings.
//
// Run consumes the sensors' inventory and findings topics as a Kafka consumer
// group, so any number of aggregator instances share the partitions. Sensors
// key inventory rows by an endpoint or vendor id that does not include the
// node, and findings by their uid, so every sighting of one endpoint (from
// every node) lands on one partition and is merged by one instance.
//
// Merging: the fleet keeps, per endpoint, each node's latest state (spec
// status, cumulative count, errors, last seen). A node's newer row replaces
// its older one; merging is a per-node maximum, so replays and duplicates
// change nothing. The fleet row sums counts over nodes and derives a
// fleet-wide spec status: documented if any node's spec documents the
// endpoint, else zombie if any node reports it as a zombie, else shadow if
// some node reports shadow. An endpoint is therefore fleet-wide shadow only
// if no node's spec documents it; a fleet shadow_api finding (uid derived
// from the endpoint id) is created, updated, and closed when a node starts
// documenting it. Vendors merge the same way: declared if any node declares.
// Sensor findings other than shadow and zombie APIs (which the fleet derives
// itself) are merged by uid: counts summed over nodes, first and last seen
// widened, the highest severity kept.
//
// Output: fleet inventory rows go to apitap.fleet.inventory keyed by the
// endpoint or vendor id, fleet findings to apitap.fleet.findings keyed by
// uid, as the same OCSF events sensors emit with metadata.log_name
// apitap.fleet.*. A fleet inventory row carries its per-node state under
// unmapped.apitap.nodes, so the topic (configure it with
// cleanup.policy=compact) is the aggregator's state: on start Run reads it
// from the beginning, and it keeps following it, so an instance that takes
// over a partition from a stopped one already holds that partition's state.
//
// Input offsets are committed only after the outputs they caused were
// acknowledged: at-least-once, which the per-node merge makes harmless.
//
// TODO: fleet finding merge state (per-node counts of sensor findings) is
// kept in memory only; after a restart, fleet finding counts are rebuilt as
// sensors re-send their findings.
package fleet
