// Package schema holds the JSON Schema (draft 2020-12) of every OCSF event
// apitap emits, as committed in apitap-ocsf.schema.json next to this file.
package schema

import _ "embed"

// JSON is the schema document. Callers must not modify it.
//
//go:embed apitap-ocsf.schema.json
var JSON []byte
