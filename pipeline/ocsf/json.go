package ocsf

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strconv"

	"github.com/apitap/apitap/sensor/exchange"
)

// maxDepth bounds evidence nesting; deeper values are cut to null.
const maxDepth = 8

var errNotFinite = errors.New("ocsf: evidence number is not finite")

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, and
// <, > and & are left alone (the output is never embedded in HTML).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, s)
	return append(b, '"')
}

// appendString2 appends a+sep+c as one JSON string without concatenating.
func appendString2(b []byte, a, sep, c string) []byte {
	b = append(b, '"')
	b = appendEscaped(b, a)
	b = appendEscaped(b, sep)
	b = appendEscaped(b, c)
	return append(b, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string; the
// exchange records and these events escape alike.
func appendEscaped(b []byte, s string) []byte { return exchange.AppendJSONEscaped(b, s) }

// appendObject appends an evidence map with its keys sorted, so the same
// evidence always encodes to the same bytes.
func (e *Encoder) appendObject(b []byte, m map[string]any, depth int) ([]byte, error) {
	if len(m) == 0 {
		return append(b, '{', '}'), nil
	}
	mark := len(e.keys)
	for k := range m {
		e.keys = append(e.keys, k)
	}
	keys := e.keys[mark:]
	slices.Sort(keys)
	b = append(b, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		if b, err = e.appendValue(b, m[k], depth+1); err != nil {
			break
		}
	}
	e.keys = e.keys[:mark]
	return append(b, '}'), err
}

func (e *Encoder) appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxDepth {
		return append(b, "null"...), nil
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(b, x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return b, errNotFinite
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64), nil
	case []string:
		b = append(b, '[')
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, s)
		}
		return append(b, ']'), nil
	case []any:
		b = append(b, '[')
		var err error
		for i, s := range x {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = e.appendValue(b, s, depth+1); err != nil {
				return b, err
			}
		}
		return append(b, ']'), nil
	case map[string]any:
		return e.appendObject(b, x, depth)
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return e.appendObject(b, m, depth)
	}
	// Rare types (time.Time, structs from a detector) take the slow path.
	// Their strings were not seen by the secret guard, so check the result.
	raw, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	if looksLikeSecret(string(raw)) {
		return b, ErrRawSecret
	}
	return append(b, raw...), nil
}
