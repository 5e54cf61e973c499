package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"

	"github.com/apitap/apitap/sensor/template"
)

// stateVersion is the version of the state file format. Load refuses other
// versions rather than guess.
const stateVersion = 1

// ErrStateVersion is returned by Load for a state file of another version.
var ErrStateVersion = errors.New("inventory: unsupported state file version")

type stateFile struct {
	Version  int            `json:"version"`
	Services []serviceState `json:"services"`
}

type serviceState struct {
	Server    string            `json:"server"`
	Host      string            `json:"host"`
	Rules     []*template.Rule  `json:"rules,omitempty"`
	Aliases   map[string]string `json:"aliases,omitempty"`
	Endpoints []endpointState   `json:"endpoints"`
}

type endpointState struct {
	Endpoint
	FromSpec   bool            `json:"from_spec,omitempty"`
	StatusN    map[int]int64   `json:"status_counts"`
	ClientList []netip.Addr    `json:"client_list"`
	NonClient  bool            `json:"non_client_error,omitempty"`
	DeprecHdr  bool            `json:"deprecation_header,omitempty"`
	ReqSamples int             `json:"req_samples,omitempty"`
	RspSamples int             `json:"rsp_samples,omitempty"`
	DriftSet   map[string]bool `json:"drift_set,omitempty"`
}

// Save writes the inventory's state to path as zstd-compressed JSON,
// atomically: a temp file in the same directory, synced, then renamed over
// path. Pending events are not saved.
func (inv *Inventory) Save(path string) (err error) {
	st := inv.state()

	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("inventory: save: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	zw, err := zstd.NewWriter(tmp)
	if err != nil {
		return fmt.Errorf("inventory: save: %w", err)
	}
	if err := json.NewEncoder(zw).Encode(st); err != nil {
		zw.Close()
		return fmt.Errorf("inventory: save: encode: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("inventory: save: compress: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("inventory: save: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("inventory: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("inventory: save: %w", err)
	}
	return nil
}

// state is what Save writes: every service with its rules, aliases and
// endpoints.
func (inv *Inventory) state() *stateFile {
	st := &stateFile{Version: stateVersion}
	for _, svc := range inv.services {
		ss := serviceState{Host: svc.key.host, Rules: svc.collapser.Rules(),
			Aliases: svc.aliases}
		if svc.key.server.IsValid() {
			// Empty for a service known only by its Host (no address).
			ss.Server = svc.key.server.String()
		}
		for _, ep := range svc.endpoints {
			es := endpointState{Endpoint: ep.Endpoint, FromSpec: ep.fromSpec,
				StatusN: map[int]int64{}, NonClient: ep.nonClient, DeprecHdr: ep.deprecHdr,
				ReqSamples: ep.reqSamples, RspSamples: ep.rspSamples, DriftSet: ep.drift}
			ep.statuses.each(func(code int, n int64) { es.StatusN[code] = n })
			ep.clients.each(func(a netip.Addr) { es.ClientList = append(es.ClientList, a) })
			ss.Endpoints = append(ss.Endpoints, es)
		}
		st.Services = append(st.Services, ss)
	}
	return st
}

// Load replaces the inventory's endpoints with the state saved at path.
// Endpoint ids, counters and learnt collapse rules are restored; spec
// status is recomputed against the inventory's current specs.
func (inv *Inventory) Load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("inventory: load: %w", err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f, zstd.WithDecoderMaxMemory(1<<30))
	if err != nil {
		return fmt.Errorf("inventory: load %s: %w", path, err)
	}
	defer zr.Close()
	var st stateFile
	if err := json.NewDecoder(io.Reader(zr)).Decode(&st); err != nil {
		return fmt.Errorf("inventory: load %s: %w", path, err)
	}
	return inv.restore(&st, path)
}

// restore replaces the inventory's endpoints with st, read from path.
func (inv *Inventory) restore(st *stateFile, path string) error {
	if st.Version != stateVersion {
		return fmt.Errorf("%w: %d in %s, want %d", ErrStateVersion, st.Version, path,
			stateVersion)
	}

	// Everything is checked before anything changes, so that a damaged file
	// leaves the inventory as it was.
	servers := make([]netip.AddrPort, len(st.Services))
	for i, ss := range st.Services {
		if ss.Server != "" {
			server, err := netip.ParseAddrPort(ss.Server)
			if err != nil {
				return fmt.Errorf("inventory: load %s: service %q: %w", path, ss.Server, err)
			}
			servers[i] = server
		}
		for j, r := range ss.Rules {
			if err := r.Check(); err != nil {
				return fmt.Errorf("inventory: load %s: service %q: collapse rule %d: %w",
					path, ss.Server, j, err)
			}
		}
	}

	inv.services = map[serviceKey]*service{}
	inv.recent = [4]*service{}
	inv.count = 0
	for i, ss := range st.Services {
		svc := inv.serviceFor(servers[i], ss.Host, false)
		for _, r := range ss.Rules {
			svc.collapser.AddRule(r)
		}
		for k, v := range ss.Aliases {
			svc.aliases[k] = v
		}
		for i := range ss.Endpoints {
			es := &ss.Endpoints[i]
			ep := &endpoint{Endpoint: es.Endpoint, fromSpec: es.FromSpec, nonClient: es.NonClient,
				deprecHdr: es.DeprecHdr, reqSamples: es.ReqSamples, rspSamples: es.RspSamples,
				drift: es.DriftSet}
			for code, n := range es.StatusN {
				if n > 0 {
					ep.statuses.add(code, n)
				}
			}
			if ep.drift == nil {
				ep.drift = map[string]bool{}
			}
			if ep.Params == nil {
				ep.Params = map[string]string{}
			}
			for _, a := range es.ClientList {
				ep.clients.add(a)
			}
			if svc.doc != nil {
				ep.op = svc.doc.Operation(ep.Method, ep.Template)
			}
			svc.endpoints[epKey{ep.Method, ep.Template}] = ep
			inv.count++
		}
		// Rebuild sibling groups so that merging continues where it left off.
		for k, ep := range svc.endpoints {
			if !ep.fromSpec {
				svc.collapser.Observe(k.template, svc.hits())
			}
		}
	}
	return nil
}
