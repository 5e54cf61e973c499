package live

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/apitap/apitap/sensor/analysis"
	"github.com/apitap/apitap/sensor/config"
	"github.com/apitap/apitap/sensor/dataflow"
	"github.com/apitap/apitap/sensor/engine"
	"github.com/apitap/apitap/sensor/exchange"
	"github.com/apitap/apitap/sensor/inventory"
	"github.com/apitap/apitap/sensor/secret"
	"github.com/apitap/apitap/sensor/spec"
	"github.com/apitap/apitap/sensor/vendor"
)

// analyses is one generation of the analysis configuration: what Reload
// replaces as a whole.
type analyses struct {
	an      *analysis.Analyzer
	inv     *inventory.Inventory
	vendors *vendor.Analyzer
	// vendorKey fingerprints the vendor settings, so that a reload which
	// leaves them alone keeps the vendor analyzer and what it learnt.
	vendorKey string
	// exchangeLog is the writer of the exchange log (nil for none); it
	// outlives every generation.
	exchangeLog io.Writer
	// data maps sensitive data to destinations. It asks vendors where each
	// exchange went, so it is rebuilt whenever vendors is.
	data *dataflow.Analyzer
	// dataKey fingerprints the data settings, like vendorKey.
	dataKey string
}

// switchboard is the engine Emitter shared by every worker. Workers hold
// the read lock for the duration of one call, so swapping the analyses or
// reading their state under the write lock sees no call in flight; the
// analysis.Analyzer serialises the workers among themselves.
type switchboard struct {
	mu  sync.RWMutex
	cur *analyses
}

func (s *switchboard) Exchange(ex *exchange.Exchange) {
	s.mu.RLock()
	s.cur.an.Exchange(ex)
	s.mu.RUnlock()
}

func (s *switchboard) Flow(f *exchange.Flow) {
	s.mu.RLock()
	s.cur.an.Flow(f)
	s.mu.RUnlock()
}

func (s *switchboard) DNS(d *exchange.DNS) {
	s.mu.RLock()
	s.cur.an.DNS(d)
	s.mu.RUnlock()
}

var _ engine.Emitter = (*switchboard)(nil)

// snapshot flushes the exchange log and returns the current report and the
// inventory, under the write lock. save, when set, runs under the same
// lock with the inventory (it is not safe for concurrent use).
func (s *switchboard) snapshot(save func(*inventory.Inventory) error) (*analysis.Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep, err := s.cur.an.Finish(&engine.Summary{})
	// The inventory's own change events are not shipped (emit diffs the
	// endpoints by count instead); drain them so the queue stays empty.
	s.cur.inv.Events()
	if err != nil {
		err = fmt.Errorf("live: write exchanges: %w", err)
	}
	if save != nil {
		err = errors.Join(err, save(s.cur.inv))
	}
	return rep, err
}

// swap replaces the analyses with next, carrying the inventory over: it is
// saved to a temporary file and loaded into next's inventory, which
// recomputes every endpoint's spec status against the new specs.
func (s *switchboard) swap(next *analyses, tmpDir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.cur
	// Flush the exchange log of the old analyzer before the new one writes.
	if _, err := old.an.Finish(&engine.Summary{}); err != nil {
		return fmt.Errorf("live: write exchanges: %w", err)
	}
	f, err := os.CreateTemp(tmpDir, "reload-*.state")
	if err != nil {
		return fmt.Errorf("live: reload: %w", err)
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := old.inv.Save(tmp); err != nil {
		return fmt.Errorf("live: reload: %w", err)
	}
	if err := next.inv.Load(tmp); err != nil {
		return fmt.Errorf("live: reload: %w", err)
	}
	if next.vendorKey == old.vendorKey {
		next.vendors = old.vendors
		if next.dataKey == old.dataKey {
			next.data = old.data
		}
	}
	next.an = analysis.New(analysis.Config{Inventory: next.inv, Vendors: next.vendors,
		Data: next.data, Exchanges: next.exchangeLog})
	s.cur = next
	return nil
}

// buildAnalyses loads the specs and vendor settings sc names. Any file that
// does not load is an error: at start the sensor refuses to run half
// configured, and a reload keeps the previous configuration.
func buildAnalyses(sc *config.Config, exchanges io.Writer) (*analyses, error) {
	specs, err := loadSpecs(&sc.Discovery)
	if err != nil {
		return nil, err
	}
	icfg := analysis.InventoryConfig(&sc.Discovery)
	a := &analyses{inv: inventory.New(icfg, specs)}

	va, key, err := buildVendors(&sc.Vendors)
	if err != nil {
		return nil, err
	}
	a.vendors, a.vendorKey = va, key
	if a.data, a.dataKey, err = buildData(sc, va); err != nil {
		return nil, err
	}
	a.exchangeLog = exchanges
	a.an = analysis.New(analysis.Config{Inventory: a.inv, Vendors: a.vendors, Data: a.data,
		Exchanges: exchanges})
	return a, nil
}

// buildData returns the data-flow analyzer for the data and policy
// settings, with the installation's fingerprint key (created on first
// start), and a key that changes when those settings do.
func buildData(sc *config.Config, va *vendor.Analyzer) (*dataflow.Analyzer, string, error) {
	keyFile := sc.Data.KeyFile
	if keyFile == "" {
		keyFile = filepath.Join(sc.StateDir, "fingerprint.key")
	}
	key, err := secret.LoadOrCreateKey(keyFile)
	if err != nil {
		return nil, "", fmt.Errorf("live: fingerprint key: %w", err)
	}
	cfg := analysis.DataConfig(sc)
	settings := fmt.Sprintf("%q|%v|%v", keyFile, sc.Vendors.Policy, cfg.Disabled)
	return dataflow.New(cfg, key, analysis.Destinations(va)), settings, nil
}

func loadSpecs(d *config.Discovery) (*spec.Set, error) {
	set := spec.NewSet()
	for _, path := range d.Specs {
		sp, err := spec.LoadFile(path)
		if err != nil {
			return nil, fmt.Errorf("live: load spec: %w", err)
		}
		if hosts, ok := d.SpecHosts[path]; ok {
			for _, h := range hosts {
				set.Map(h, sp)
			}
			continue
		}
		set.Add(sp)
	}
	return set, nil
}

// buildVendors returns the vendor analyzer for v and a key that changes
// whenever v or a file it names changes.
func buildVendors(v *config.Vendors) (*vendor.Analyzer, string, error) {
	var key bytes.Buffer
	fmt.Fprintf(&key, "%q|%q|%q|%v", v.Declared, v.DeclaredFile, v.Catalog, v.Tiers)
	cat := vendor.Default()
	if v.Catalog != "" {
		data, err := os.ReadFile(v.Catalog)
		if err != nil {
			return nil, "", fmt.Errorf("live: vendor catalog: %w", err)
		}
		key.Write(data)
		extra, err := vendor.ParseVendors(v.Catalog, data)
		if err != nil {
			return nil, "", err
		}
		if cat, err = cat.Merge(extra); err != nil {
			return nil, "", err
		}
	}
	cat, err := analysis.WithTiers(cat, v.Tiers)
	if err != nil {
		return nil, "", err
	}
	cfg := vendor.Config{Catalog: cat}
	if len(v.Declared) > 0 || v.DeclaredFile != "" {
		doc, name, err := declaredDoc(v)
		if err != nil {
			return nil, "", err
		}
		key.Write(doc)
		if cfg.Declared, err = vendor.ParseDeclared(name, doc, cat); err != nil {
			return nil, "", err
		}
	}
	return vendor.NewAnalyzer(cfg), key.String(), nil
}

// declaredDoc merges vendors.declared and vendors.declared_file into one
// declared-vendors document (vendor.ParseDeclared's format). The file may
// be such a YAML document or a plain list with one id or domain per line.
func declaredDoc(v *config.Vendors) ([]byte, string, error) {
	doc := map[string]any{}
	name := "vendors.declared"
	if v.DeclaredFile != "" {
		name = v.DeclaredFile
		data, err := os.ReadFile(v.DeclaredFile)
		if err != nil {
			return nil, "", fmt.Errorf("live: declared vendors: %w", err)
		}
		if isDeclaredYAML(data) {
			if len(v.Declared) == 0 {
				return data, name, nil
			}
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return nil, "", fmt.Errorf("live: declared vendors %s: %w", name, err)
			}
		} else {
			var ids []any
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				line, _, _ := strings.Cut(sc.Text(), "#")
				if line = strings.TrimSpace(line); line != "" {
					ids = append(ids, line)
				}
			}
			doc["vendors"] = ids
		}
	}
	list, _ := doc["vendors"].([]any)
	for _, id := range v.Declared {
		list = append(list, id)
	}
	doc["vendors"] = list
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, "", fmt.Errorf("live: declared vendors: %w", err)
	}
	return out, name, nil
}

// isDeclaredYAML tells a declared-vendors YAML document from a plain list:
// the document has a top-level vendors or services key.
func isDeclaredYAML(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "vendors:") || strings.HasPrefix(line, "services:") {
			return true
		}
	}
	return false
}

// loadInventory restores the saved inventory, if any.
func loadInventory(inv *inventory.Inventory, dir string) (bool, error) {
	err := inv.Load(filepath.Join(dir, InventoryFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}
