// Package metrics holds the sensor's Prometheus collectors and the HTTP
// endpoints an operator or an orchestrator scrapes: /metrics, /healthz and
// /readyz.
//
// Every collector lives in a private registry owned by one Metrics value, so
// tests and several sensors in one process never collide on the global
// registry. Hot paths hold on to the child counter they need (for example
// m.Packets.WithLabelValues("eth0")) once, at setup, and only call Add on the
// packet path: a label lookup per packet would hash and allocate.
package metrics
