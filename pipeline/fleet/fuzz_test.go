package fleet

import (
	"log/slog"
	"testing"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/apitap/apitap/pipeline/ocsf"
)

// FuzzEvents feeds the aggregator what any producer could write to the
// topics it reads: sensor events and rows of the fleet inventory. An event
// it cannot use is skipped, never a crash of the fleet's one aggregator.
func FuzzEvents(f *testing.F) {
	for _, s := range []string{
		`{"class_uid":6003,"activity_id":1,"device":{"name":"n1"},"start_time":1,` +
			`"api":{"service":{"name":"10.0.0.1:80"}},"http_request":{"http_method":"GET"},` +
			`"unmapped":{"apitap":{"kind":"endpoint","id":"e1","spec_status":"shadow",` +
			`"template":"/a/{id}","count":3,"nodes":[{"node":"n1","count":3}]}}}`,
		`{"class_uid":6003,"device":{"name":"n2"},"dst_endpoint":{"hostname":"api.x.com"},` +
			`"unmapped":{"apitap":{"kind":"vendor","id":"v1","vendor":"x","tier":"ai"}}}`,
		`{"class_uid":2006,"severity_id":4,"count":2,"risk_score":40,"device":{"name":"n1"},` +
			`"finding_info":{"uid":"f1","title":"t","types":["credential_in_url"]},` +
			`"evidences":[{"data":{"k":1},"src_endpoint":{"name":"s"},` +
			`"dst_endpoint":{"hostname":"h"}}]}`,
		`{"class_uid":2004}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		a := &aggregator{log: slog.New(slog.DiscardHandler),
			enc: ocsf.NewEncoder(ocsf.Identity{Fleet: true}), st: newState()}
		m := &kafkago.Message{Topic: "apitap.test", Value: b}
		// Twice, as a sensor resends: the second time meets the state the
		// first left.
		a.handle(nil, m)
		a.handle(nil, m)
		a.st.applyFleetRow(b)
	})
}
