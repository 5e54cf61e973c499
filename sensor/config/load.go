package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed example.yaml
var example []byte

// Example returns a commented example configuration that validates. The
// returned slice is a copy the caller owns.
func Example() []byte { return bytes.Clone(example) }

// Override carries command-line settings, which win over the file and the
// environment. Nil or empty fields leave the value alone.
type Override struct {
	Mode          *string
	Interfaces    []string
	FilterExpr    *string
	Workers       *int
	StateDir      *string
	OutputType    *string
	OutputFile    *string
	KafkaBrokers  []string
	MetricsListen *string
	LogLevel      *string
	LogFormat     *string
}

// Load reads, merges and validates the configuration at path: defaults, the
// file, APITAP_* environment variables, then o (which may be nil). The
// error lists every problem found, one per line, each naming its source.
func Load(path string, o *Override) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, unwrapPathErr(err))
	}
	return Parse(path, data, os.LookupEnv, o)
}

// Check validates the configuration file at path, as Load would with the
// current environment.
func Check(path string) error {
	_, err := Load(path, nil)
	return err
}

// Parse is Load for a configuration already in memory; name is used in
// error positions and env looks up environment variables (nil for none).
func Parse(name string, data []byte, env func(string) (string, bool), o *Override) (*Config, error) {
	l := &loader{file: name, pos: map[string]string{}}
	c := new(Config)

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	if len(doc.Content) > 0 {
		l.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	}
	if env != nil {
		l.applyEnv(c, env)
	}
	if o != nil {
		l.applyOverride(c, o)
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}

	c.Defaults()
	l.validate(reflect.ValueOf(c).Elem(), "", "")
	l.crossCheck(c)
	if len(l.errs) == 0 {
		l.readSecrets(c)
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return c, nil
}

// envVar maps one APITAP_* variable onto a field path.
type envVar struct {
	name, path string
	list       bool // comma-separated list
}

// envVars are the conventional variables a container platform sets. The
// password is handled by readSecrets and never stored in pos or errors.
var envVars = []envVar{
	{"APITAP_CAPTURE_MODE", "capture.mode", false},
	{"APITAP_INTERFACES", "capture.interfaces", true},
	{"APITAP_STATE_DIR", "state_dir", false},
	{"APITAP_OUTPUT", "output.type", false},
	{"APITAP_KAFKA_BROKERS", "output.kafka.brokers", true},
	{"APITAP_KAFKA_SASL_MECHANISM", "output.kafka.sasl.mechanism", false},
	{"APITAP_KAFKA_SASL_USER", "output.kafka.sasl.user", false},
	{"APITAP_KAFKA_SASL_PASSWORD_FILE", "output.kafka.sasl.password_file", false},
	{"APITAP_METRICS_LISTEN", "metrics.listen", false},
	{"APITAP_LOG_LEVEL", "log.level", false},
	{"APITAP_LOG_FORMAT", "log.format", false},
}

func (l *loader) applyEnv(c *Config, env func(string) (string, bool)) {
	for _, e := range envVars {
		s, ok := env(e.name)
		if !ok || s == "" {
			continue
		}
		f := fieldByPath(reflect.ValueOf(c).Elem(), e.path)
		if e.list {
			var items []string
			for _, it := range strings.Split(s, ",") {
				if it = strings.TrimSpace(it); it != "" {
					items = append(items, it)
				}
			}
			f.Set(reflect.ValueOf(items))
		} else {
			f.SetString(s)
		}
		l.pos[e.path] = "env " + e.name
	}
	if s, ok := env("APITAP_KAFKA_SASL_PASSWORD"); ok && s != "" {
		c.Output.Kafka.SASL.Password = Secret(s)
	}
}

func (l *loader) applyOverride(c *Config, o *Override) {
	const pos = "command line"
	str := func(p string, s *string) {
		if s != nil {
			fieldByPath(reflect.ValueOf(c).Elem(), p).SetString(*s)
			l.pos[p] = pos
		}
	}
	list := func(p string, s []string) {
		if len(s) > 0 {
			fieldByPath(reflect.ValueOf(c).Elem(), p).Set(reflect.ValueOf(s))
			l.pos[p] = pos
		}
	}
	str("capture.mode", o.Mode)
	list("capture.interfaces", o.Interfaces)
	str("capture.filter.expression", o.FilterExpr)
	if o.Workers != nil {
		c.Capture.Workers = *o.Workers
		l.pos["capture.workers"] = pos
	}
	str("state_dir", o.StateDir)
	str("output.type", o.OutputType)
	str("output.file.path", o.OutputFile)
	list("output.kafka.brokers", o.KafkaBrokers)
	str("metrics.listen", o.MetricsListen)
	str("log.level", o.LogLevel)
	str("log.format", o.LogFormat)
}

// fieldByPath finds the struct field at a dotted yaml path.
func fieldByPath(v reflect.Value, p string) reflect.Value {
	for _, name := range strings.Split(p, ".") {
		t := v.Type()
		found := false
		for i := range t.NumField() {
			if n, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); n == name {
				v, found = v.Field(i), true
				break
			}
		}
		if !found {
			panic("config: no field " + p) // programmer error in envVars
		}
	}
	return v
}

// maxSecretFile bounds what is read from a password file: a password is
// short, and a mistaken path to a large file should fail clearly.
const maxSecretFile = 4096

func (l *loader) readSecrets(c *Config) {
	s := &c.Output.Kafka.SASL
	if s.Password != "" || s.PasswordFile == "" {
		return
	}
	p := "output.kafka.sasl.password_file"
	f, err := os.Open(s.PasswordFile)
	if err != nil {
		l.addf(l.where(p), p, "%q: %v", s.PasswordFile, unwrapPathErr(err))
		return
	}
	defer f.Close()
	buf := make([]byte, maxSecretFile+1)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		l.addf(l.where(p), p, "%q: %v", s.PasswordFile, err)
		return
	}
	if n > maxSecretFile {
		l.addf(l.where(p), p, "%q is larger than %d bytes; is it a password file?", s.PasswordFile, maxSecretFile)
		return
	}
	pw := strings.TrimRight(string(buf[:n]), "\r\n")
	if pw == "" {
		l.addf(l.where(p), p, "%q is empty", s.PasswordFile)
		return
	}
	s.Password = Secret(pw)
}

// syntaxError turns yaml's "yaml: line 3: did not find..." into the same
// "file:line: message" shape as every other error.
func syntaxError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	pos := name
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, m, ok := strings.Cut(rest, ": "); ok {
			pos, msg = name+":"+num, m
		}
	}
	return Errors{{Pos: pos, Msg: msg}}
}
