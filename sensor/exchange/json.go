package exchange

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the exchange record of ex, one JSON object without a
// trailing newline, to dst. It writes the fields of the exchange record
// contract (see README): no query value, header value or body byte ever
// appears, only names, sizes and schemes.
func (ex *Exchange) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"ts":`...)
	dst = appendTime(dst, ex.Start)
	dst = append(dst, `,"end":`...)
	dst = appendTime(dst, ex.End)
	dst = append(dst, `,"client":`...)
	dst = appendAddrPort(dst, ex.Client)
	dst = append(dst, `,"server":`...)
	dst = appendAddrPort(dst, ex.Server)
	dst = append(dst, `,"direction":`...)
	dst = appendString(dst, ex.Direction.String())
	dst = append(dst, `,"protocol":`...)
	dst = appendString(dst, ex.Protocol)
	dst = append(dst, `,"method":`...)
	dst = appendString(dst, ex.Method)
	dst = append(dst, `,"host":`...)
	dst = appendString(dst, ex.Host)
	dst = append(dst, `,"path":`...)
	dst = appendString(dst, ex.Path)
	dst = append(dst, `,"query_keys":[`...)
	for i, k := range ex.QueryKeys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, k)
	}
	dst = append(dst, `],"status":`...)
	if ex.Status == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = strconv.AppendInt(dst, int64(ex.Status), 10)
	}
	dst = append(dst, `,"request_content_type":`...)
	dst = appendNullable(dst, ex.Request.ContentType)
	dst = append(dst, `,"response_content_type":`...)
	dst = appendNullable(dst, ex.Response.ContentType)
	dst = append(dst, `,"request_bytes":`...)
	dst = strconv.AppendInt(dst, ex.Request.Bytes, 10)
	dst = append(dst, `,"response_bytes":`...)
	dst = strconv.AppendInt(dst, ex.Response.Bytes, 10)
	dst = append(dst, `,"auth":`...)
	dst = appendNullable(dst, ex.Auth)
	dst = append(dst, `,"user_agent":`...)
	dst = appendNullable(dst, ex.UserAgent)
	if ex.Flags != 0 {
		dst = append(dst, `,"flags":[`...)
		first := true
		for _, f := range flagNames {
			if ex.Flags&f.f != 0 {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = appendString(dst, f.name)
			}
		}
		dst = append(dst, ']')
	}
	if p := ex.Process; p != nil {
		dst = append(dst, `,"process":{"pid":`...)
		dst = strconv.AppendUint(dst, uint64(p.PID), 10)
		dst = append(dst, `,"comm":`...)
		dst = appendString(dst, p.Comm)
		if p.CgroupID != 0 {
			dst = append(dst, `,"cgroup":`...)
			dst = strconv.AppendUint(dst, p.CgroupID, 10)
		}
		if p.Container != "" {
			dst = append(dst, `,"container":`...)
			dst = appendString(dst, p.Container)
		}
		if p.Pod != "" {
			dst = append(dst, `,"pod":`...)
			dst = appendString(dst, p.Pod)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

var flagNames = []struct {
	f    Flags
	name string
}{
	{FlagRequestGap, "request_gap"},
	{FlagResponseGap, "response_gap"},
	{FlagUpgrade, "upgrade"},
	{FlagNoResponse, "no_response"},
}

func appendTime(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// appendAddrPort appends ip:port, or null for an address not known (a TLS
// stream read from a library that never touched its socket).
func appendAddrPort(dst []byte, a netip.AddrPort) []byte {
	if !a.IsValid() {
		return append(dst, "null"...)
	}
	dst = append(dst, '"')
	dst = a.AppendTo(dst)
	return append(dst, '"')
}

func appendNullable(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, "null"...)
	}
	return appendString(dst, s)
}

// appendString appends s as a JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = AppendJSONEscaped(dst, s)
	return append(dst, '"')
}

// AppendJSONEscaped appends s escaped for the inside of a JSON string:
// quotes, backslashes and control characters escaped, invalid UTF-8 turned
// into U+FFFD, and U+2028/U+2029 escaped because JavaScript consumers choke
// on them. <, > and & are left alone: the output is never embedded in HTML.
func AppendJSONEscaped(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript consumers.
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}
