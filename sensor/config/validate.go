package config

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// validate walks v and applies the enum, min, max, check and keys tags of
// each field to the merged configuration.
func (l *loader) validate(v reflect.Value, p string, tag reflect.StructTag) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == sizeType || v.Type() == durationType {
			break
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			l.validate(v.Field(i), join(p, name), f.Tag)
		}
		return
	case reflect.Slice:
		for i := range v.Len() {
			l.validate(v.Index(i), fmt.Sprintf("%s[%d]", p, i), tag)
		}
		return
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			kp := join(p, k.String())
			if rule := tag.Get("keys"); rule != "" {
				if msg := checkValue(rule, k.String()); msg != "" {
					l.addf(l.where(kp), kp, "key %s", msg)
				}
			}
			l.validate(v.MapIndex(k), kp, reflect.StructTag(strings.ReplaceAll(string(tag), "keys:", "_:")))
		}
		return
	}
	l.validateLeaf(v, p, tag)
}

func (l *loader) validateLeaf(v reflect.Value, p string, tag reflect.StructTag) {
	if enum := tag.Get("enum"); enum != "" && v.Kind() == reflect.String && v.String() != "" {
		opts := strings.Split(enum, ",")
		if !slices.Contains(opts, v.String()) {
			l.addf(l.where(p), p, "%q is not one of %s", v.String(), strings.Join(opts, ", "))
		}
	}
	if lo, hi := tag.Get("min"), tag.Get("max"); lo != "" || hi != "" {
		l.checkRange(v, p, lo, hi)
	}
	if rule := tag.Get("check"); rule != "" && v.Kind() == reflect.String && v.String() != "" {
		if msg := checkValue(rule, v.String()); msg != "" {
			l.addf(l.where(p), p, "%s", msg)
		}
	}
}

func (l *loader) checkRange(v reflect.Value, p, lo, hi string) {
	var n, min, max int64
	var show func(int64) string
	switch v.Type() {
	case sizeType:
		a, _ := ParseSize(lo)
		b, _ := ParseSize(hi)
		n, min, max = v.Int(), int64(a), int64(b)
		show = func(x int64) string { return Size(x).String() }
	case durationType:
		a, _ := time.ParseDuration(lo)
		b, _ := time.ParseDuration(hi)
		n, min, max = v.Int(), int64(a), int64(b)
		show = func(x int64) string { return time.Duration(x).String() }
	default:
		a, _ := strconv.ParseInt(lo, 10, 64)
		b, _ := strconv.ParseInt(hi, 10, 64)
		n, min, max = v.Int(), a, b
		show = func(x int64) string { return strconv.FormatInt(x, 10) }
	}
	if n < min || n > max {
		l.addf(l.where(p), p, "%s is out of range %s..%s", show(n), show(min), show(max))
	}
}

// checkValue applies one named rule to s and returns what is wrong, or "".
func checkValue(rule, s string) string {
	switch rule {
	case "cidr":
		if _, err := netip.ParsePrefix(s); err != nil {
			if a, aerr := netip.ParseAddr(s); aerr == nil {
				return fmt.Sprintf("%q is not a CIDR: add the prefix length (%s/%d)", s, s, a.BitLen())
			}
			return fmt.Sprintf("%q is not a CIDR (e.g. \"10.0.0.0/8\", \"fd00::/8\")", s)
		}
	case "file":
		fi, err := os.Stat(s)
		switch {
		case os.IsNotExist(err):
			return fmt.Sprintf("%q: no such file", s)
		case err != nil:
			return fmt.Sprintf("%q: %v", s, unwrapPathErr(err))
		case fi.IsDir():
			return fmt.Sprintf("%q is a directory, not a file", s)
		}
	case "glob":
		if s == "all" {
			return ""
		}
		if _, err := path.Match(s, ""); err != nil {
			return fmt.Sprintf("%q is not a valid interface pattern", s)
		}
		if !strings.ContainsAny(s, "*?[") && len(s) > 15 {
			return fmt.Sprintf("%q is longer than 15 bytes, the kernel's limit for interface names", s)
		}
	case "hostport", "listen":
		if rule == "listen" && s == "off" {
			return ""
		}
		host, port, err := net.SplitHostPort(s)
		if err != nil || (rule == "hostport" && host == "") {
			return fmt.Sprintf("%q is not host:port (e.g. \"kafka-1:9092\")", s)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q: port %q is not a number in 1..65535", s, port)
		}
	case "ident":
		if !isIdent(s) {
			return fmt.Sprintf("%q is not a valid id (lowercase letters, digits, '.', '_', '-')", s)
		}
	case "topic":
		if len(s) > 249 || s == "." || s == ".." || strings.Trim(s, "abcdefghijklmnopqrstuvwxyz"+
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != "" {
			return fmt.Sprintf("%q is not a valid Kafka topic name", s)
		}
	case "dataclass":
		if !slices.Contains(DetectorNames, s) && !slices.Contains(policyEntries, s) {
			return fmt.Sprintf("%q is not a data class (email, jwt, …), a category (%s) or \"*\"",
				s, strings.Join(policyEntries[1:], ", "))
		}
	case "detector":
		if !slices.Contains(DetectorNames, s) {
			return fmt.Sprintf("%q is not one of %s", s, strings.Join(DetectorNames, ", "))
		}
	default:
		panic("config: unknown check " + rule) // programmer error in a struct tag
	}
	return ""
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '.' || c == '_' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// crossCheck applies the rules that involve more than one field.
func (l *loader) crossCheck(c *Config) {
	cp := &c.Capture
	if len(cp.Interfaces) > 1 && slices.Contains(cp.Interfaces, "all") {
		l.addf(l.where("capture.interfaces"), "capture.interfaces",
			"\"all\" cannot be combined with other interfaces")
	}
	if cp.Filter.Expression != "" && (len(cp.Filter.Ports) > 0 || len(cp.Filter.CIDRs) > 0) {
		l.addf(l.where("capture.filter.expression"), "capture.filter.expression",
			"cannot be combined with ports or cidrs: write them into the expression")
	}
	if cp.Ring.BlockSize%(4*KiB) != 0 {
		l.addf(l.where("capture.ring.block_size"), "capture.ring.block_size",
			"%s is not a multiple of 4KiB (the page size)", cp.Ring.BlockSize)
	} else if int64(cp.Ring.BlockSize) < int64(cp.Snaplen)+128 {
		l.addf(l.where("capture.ring.block_size"), "capture.ring.block_size",
			"%s cannot hold a packet of capture.snaplen %d bytes plus its header", cp.Ring.BlockSize, cp.Snaplen)
	}
	if cp.Limits.MaxFlowBytes > cp.Limits.MaxTotalBytes {
		l.addf(l.where("capture.limits.max_flow_bytes"), "capture.limits.max_flow_bytes",
			"%s is more than capture.limits.max_total_bytes %s", cp.Limits.MaxFlowBytes, cp.Limits.MaxTotalBytes)
	}
	if c.TLS.Uprobes && cp.Mode != "ebpf" {
		l.addf(l.where("tls.uprobes"), "tls.uprobes", "needs capture.mode ebpf")
	}
	if !filepath.IsAbs(c.StateDir) {
		l.addf(l.where("state_dir"), "state_dir", "%q is not an absolute path", c.StateDir)
	}
	for spec := range c.Discovery.SpecHosts {
		if !slices.Contains(c.Discovery.Specs, spec) {
			p := join("discovery.spec_hosts", spec)
			l.addf(l.where(p), p, "%q is not listed in discovery.specs", spec)
		}
	}

	o := &c.Output
	switch o.Type {
	case "file":
		if o.File.Path == "" {
			l.addf(l.where("output.type"), "output.file.path", "required when output.type is file")
		}
	case "kafka":
		if len(o.Kafka.Brokers) == 0 {
			l.addf(l.where("output.type"), "output.kafka.brokers",
				"required when output.type is kafka (or set APITAP_KAFKA_BROKERS)")
		}
	}
	t := &o.Kafka.TLS
	if (t.Cert == "") != (t.Key == "") {
		l.addf(l.where("output.kafka.tls"), "output.kafka.tls", "cert and key must be set together")
	}
	s := &o.Kafka.SASL
	if s.Mechanism != "none" && s.Mechanism != "" {
		if s.User == "" {
			l.addf(l.where("output.kafka.sasl.mechanism"), "output.kafka.sasl.user",
				"required for mechanism %s", s.Mechanism)
		}
		if s.PasswordFile == "" && s.Password == "" {
			l.addf(l.where("output.kafka.sasl.mechanism"), "output.kafka.sasl.password_file",
				"required for mechanism %s (or set APITAP_KAFKA_SASL_PASSWORD)", s.Mechanism)
		}
	}
}
