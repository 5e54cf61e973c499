package config

import "strings"

// Error is one problem in the configuration. Pos says where the value came
// from: "file:line", "env APITAP_X" or "command line".
type Error struct {
	Pos   string
	Field string // dotted path, e.g. output.kafka.compression
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos)
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one load, in file order. The loader keeps
// going after the first mistake so that an operator fixes them all at once.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}
