// Package ocsftest validates emitted events against the committed JSON
// Schema, for the tests of every package that ships OCSF events.
package ocsftest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/apitap/apitap/pipeline/ocsf/schema"
)

var (
	once     sync.Once
	compiled *jsonschema.Schema
	errC     error
)

// Validate checks one event against schema/apitap-ocsf.schema.json.
func Validate(event []byte) error {
	once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema.JSON))
		if err != nil {
			errC = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("apitap-ocsf.schema.json", doc); err != nil {
			errC = err
			return
		}
		compiled, errC = c.Compile("apitap-ocsf.schema.json")
	})
	if errC != nil {
		return fmt.Errorf("ocsftest: compile schema: %w", errC)
	}
	if !json.Valid(event) {
		return fmt.Errorf("ocsftest: not valid json: %.200s", event)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(event))
	if err != nil {
		return err
	}
	return compiled.Validate(v)
}
