package ebpf

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// checkKernel reports, as ErrNotSupported with a reason, what stops this
// process from loading BPF programs at all: no kernel BTF (CO-RE needs it)
// or a memlock limit it may not lift (kernels before 5.11 charge BPF memory
// to RLIMIT_MEMLOCK).
func checkKernel() error {
	if _, err := btf.LoadKernelSpec(); err != nil {
		return notSupported("kernel BTF unavailable (/sys/kernel/btf/vmlinux)", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return notSupported("cannot lift RLIMIT_MEMLOCK (needs CAP_SYS_RESOURCE)", err)
	}
	return nil
}

// loadSpec loads a collection into objs, turning permission and verifier
// failures into ErrNotSupported so that the caller falls back.
func loadSpec(spec *ebpf.CollectionSpec, objs any) error {
	err := spec.LoadAndAssign(objs, nil)
	if err == nil {
		return nil
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return notSupported("kernel verifier rejected the program", err)
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return notSupported("no permission to load BPF programs (needs CAP_BPF, "+
			"CAP_PERFMON and CAP_NET_ADMIN, or root)", err)
	}
	if errors.Is(err, ebpf.ErrNotSupported) {
		return notSupported("kernel lacks a map or program type the objects use", err)
	}
	return fmt.Errorf("ebpf: load objects: %w", err)
}

// inNetNS runs fn on a thread switched into the network namespace at path
// (the caller's when empty). Interface lookups and attaches resolve names and
// indexes in the thread's namespace; links keep working after switching back.
// The switch happens on a fresh goroutine so that, should restoring the
// namespace fail, that goroutine exits still locked and Go retires the thread
// instead of reusing it in the wrong namespace.
func inNetNS(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("ebpf: open current netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("ebpf: open netns %s: %w", path, err)
			return
		}
		defer target.Close()

		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("ebpf: enter netns %s: %w", path, err)
			return
		}
		fnErr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- errors.Join(fnErr, fmt.Errorf("ebpf: restore netns: %w", err))
			return // still locked: the thread is discarded
		}
		runtime.UnlockOSThread()
		done <- fnErr
	}()
	return <-done
}

type ifaceInfo struct {
	name  string
	index int
	ether bool // frames start with a 14-byte Ethernet header
}

func lookupIfaces(names []string) ([]ifaceInfo, error) {
	out := make([]ifaceInfo, 0, len(names))
	for _, name := range names {
		ifc, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("ebpf: look up interface %s: %w", name, err)
		}
		// Ethernet-like devices (including veth and loopback, whose
		// all-zero address is still 6 bytes) carry a MAC header; tun,
		// wireguard and other L3 devices start at the IP header.
		out = append(out, ifaceInfo{name: name, index: ifc.Index,
			ether: len(ifc.HardwareAddr) == 6})
	}
	return out, nil
}
