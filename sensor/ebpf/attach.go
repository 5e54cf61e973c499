package ebpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// tc clsact fallback. cilium/ebpf has no netlink tc helpers, so filters are
// installed with vishvananda/netlink: a library call keeps the sensor free of
// a runtime dependency on the iproute2 binary (often missing from minimal
// DaemonSet images) and returns typed errors instead of text to parse.

// tcPriority is the filter priority apitap uses on clsact; a distinctive
// value avoids replacing filters that other tools installed.
const tcPriority = 0xa7a

// hook is one attachment that Close removes.
type hook interface{ Close() error }

// tcFilter is a clsact bpf filter installed through netlink. Removal runs in
// the namespace the filter was installed in.
type tcFilter struct {
	filter      *netlink.BpfFilter
	netns       string
	ownedQdisc  *netlink.GenericQdisc // non-nil when we created clsact
	removeQdisc bool
}

func (f *tcFilter) Close() error {
	return inNetNS(f.netns, func() error {
		err := netlink.FilterDel(f.filter)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
			err = nil // interface or namespace already gone
		}
		if f.removeQdisc && f.ownedQdisc != nil {
			// Only the last filter of a qdisc we created removes it.
			if qerr := netlink.QdiscDel(f.ownedQdisc); qerr != nil &&
				!errors.Is(qerr, unix.ENOENT) && !errors.Is(qerr, unix.EINVAL) &&
				!errors.Is(qerr, unix.ENODEV) {
				err = errors.Join(err, fmt.Errorf("ebpf: remove clsact: %w", qerr))
			}
		}
		if err != nil {
			return fmt.Errorf("ebpf: remove tc filter: %w", err)
		}
		return nil
	})
}

// attachAll hooks ingress and egress of every interface with one mode: TCX
// first when allowed, otherwise (or when TCX is missing) tc clsact. It runs
// inside the target namespace. On error nothing stays attached.
func attachAll(cfg *Config, ifaces []ifaceInfo, ingress, egress *ebpf.Program) (
	[]hook, AttachMode, error) {

	var tcxErr error
	if cfg.Attach != AttachTC {
		hooks, err := attachTCX(cfg, ifaces, ingress, egress)
		if err == nil {
			return hooks, AttachTCX, nil
		}
		if cfg.Attach == AttachTCX || !errors.Is(err, ErrNotSupported) {
			return nil, 0, err
		}
		tcxErr = err
	}
	hooks, err := attachTC(cfg, ifaces, ingress, egress)
	if err != nil {
		if tcxErr != nil {
			return nil, 0, fmt.Errorf("%w; tc fallback: %w", tcxErr, err)
		}
		return nil, 0, err
	}
	return hooks, AttachTC, nil
}

func attachTCX(cfg *Config, ifaces []ifaceInfo, ingress, egress *ebpf.Program) ([]hook, error) {
	if cfg.DisableTCX {
		return nil, notSupported("tcx disabled by configuration", nil)
	}
	var hooks []hook
	undo := func() {
		for _, h := range hooks {
			h.Close()
		}
	}
	for _, ifc := range ifaces {
		for _, a := range []struct {
			prog *ebpf.Program
			at   ebpf.AttachType
		}{{ingress, ebpf.AttachTCXIngress}, {egress, ebpf.AttachTCXEgress}} {
			l, err := link.AttachTCX(link.TCXOptions{
				Interface: ifc.index, Program: a.prog, Attach: a.at,
			})
			if err != nil {
				undo()
				if errors.Is(err, ebpf.ErrNotSupported) {
					return nil, notSupported("kernel lacks tcx (Linux 6.6+)", err)
				}
				return nil, fmt.Errorf("ebpf: attach tcx %s on %s: %w", a.at, ifc.name, err)
			}
			hooks = append(hooks, l)
		}
	}
	return hooks, nil
}

func attachTC(cfg *Config, ifaces []ifaceInfo, ingress, egress *ebpf.Program) ([]hook, error) {
	var hooks []hook
	undo := func() {
		for _, h := range hooks {
			h.Close()
		}
	}
	for _, ifc := range ifaces {
		qdisc := &netlink.GenericQdisc{
			QdiscAttrs: netlink.QdiscAttrs{
				LinkIndex: ifc.index,
				Handle:    netlink.MakeHandle(0xffff, 0),
				Parent:    netlink.HANDLE_CLSACT,
			},
			QdiscType: "clsact",
		}
		created := true
		if err := netlink.QdiscAdd(qdisc); err != nil {
			if !errors.Is(err, unix.EEXIST) {
				undo()
				if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
					return nil, notSupported("kernel lacks tc clsact (sch_clsact, cls_bpf)", err)
				}
				return nil, fmt.Errorf("ebpf: add clsact on %s: %w", ifc.name, err)
			}
			created = false // someone else's clsact: leave it in place
		}
		for i, a := range []struct {
			prog   *ebpf.Program
			parent uint32
			name   string
		}{
			{ingress, netlink.HANDLE_MIN_INGRESS, "apitap_ingress"},
			{egress, netlink.HANDLE_MIN_EGRESS, "apitap_egress"},
		} {
			f := &netlink.BpfFilter{
				FilterAttrs: netlink.FilterAttrs{
					LinkIndex: ifc.index,
					Parent:    a.parent,
					Handle:    netlink.MakeHandle(0, 1),
					Protocol:  unix.ETH_P_ALL,
					Priority:  tcPriority,
				},
				Fd:           a.prog.FD(),
				Name:         a.name,
				DirectAction: true,
			}
			if err := netlink.FilterReplace(f); err != nil {
				undo()
				if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOENT) {
					return nil, notSupported("kernel lacks cls_bpf", err)
				}
				return nil, fmt.Errorf("ebpf: add tc filter %s on %s: %w", a.name, ifc.name, err)
			}
			tf := &tcFilter{filter: f, netns: cfg.NetNS}
			if created {
				tf.ownedQdisc = qdisc
				tf.removeQdisc = i == 1
			}
			hooks = append(hooks, tf)
		}
	}
	return hooks, nil
}
