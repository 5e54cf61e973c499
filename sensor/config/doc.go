// Package config loads and validates the sensor's YAML configuration
// (/etc/apitap/apitap.yaml by default).
//
// The file is decoded through yaml.v3 nodes rather than straight into structs
// so that every mistake is reported with the file, the line and the dotted
// field path, and says what is wrong:
//
//	/etc/apitap/apitap.yaml:12: output.kafka.compression: "zsdt" is not one of zstd, lz4, snappy, gzip, none
//
// Unknown keys are errors (with a suggestion when a known key is close), as
// are wrong types, out-of-range numbers, malformed durations ("30s"), sizes
// ("64MiB"), CIDRs and ports, and missing files where a file is required.
//
// Precedence, lowest first: built-in defaults, the file, APITAP_* environment
// variables, then an Override built by the command line. A zero value in the
// file means "use the default"; every field's comment states its default and
// unit.
//
// Secrets (the Kafka SASL password) are never accepted inline: they come from
// a file path or from the environment, are held in a Secret that prints as
// "[redacted]", and are never part of an error message.
package config
