package report_test

import (
	"bytes"
	"sync"
	"testing"

	// The validator: santhosh-tekuri/jsonschema is maintained (v6, 2024), implements
	// drafts 4 to 2020-12 completely (it passes the official JSON-Schema-Test-Suite),
	// is pure Go with one dependency (golang.org/x/text), and reports the failing
	// instance location and keyword, which makes a schema failure easy to read.
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "../../docs/report.schema.json"

var (
	schemaOnce sync.Once
	schema     *jsonschema.Schema
	schemaErr  error
)

// validate checks a JSON report against docs/report.schema.json.
func validate(t testing.TB, js []byte) {
	t.Helper()
	schemaOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.AssertFormat()
		schema, schemaErr = c.Compile(schemaPath)
	})
	if schemaErr != nil {
		t.Fatalf("compiling %s: %v", schemaPath, schemaErr)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(js))
	if err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	if err := schema.Validate(v); err != nil {
		t.Errorf("report does not validate against %s:\n%v", schemaPath, err)
	}
}
