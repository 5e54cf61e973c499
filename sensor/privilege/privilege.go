package privilege

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Cap is a Linux capability number (linux/capability.h).
type Cap uint

// The capabilities the sensor may keep.
const (
	CapNetAdmin    Cap = 12 // promiscuous mode, some fanout setups
	CapNetRaw      Cap = 13 // AF_PACKET sockets
	CapSysAdmin    Cap = 21 // setns into other network namespaces, eBPF on older kernels
	CapSysResource Cap = 24 // raise RLIMIT_MEMLOCK for eBPF maps on kernels before 5.11
	CapPerfmon     Cap = 38 // eBPF uprobes and tracing (Linux 5.8+)
	CapBPF         Cap = 39 // loading eBPF programs and maps (Linux 5.8+)
)

// Errors.
var (
	ErrCgo      = errors.New("privilege: cannot change capabilities of all threads in a cgo build; build with CGO_ENABLED=0")
	ErrWritable = errors.New("privilege: writable by group or others")
)

// Needed returns the capabilities the sensor keeps: CAP_NET_RAW and
// CAP_NET_ADMIN for AF_PACKET capture, plus CAP_BPF, CAP_PERFMON,
// CAP_SYS_ADMIN and CAP_SYS_RESOURCE when eBPF capture or uprobes are on.
func Needed(ebpf bool) []Cap {
	caps := []Cap{CapNetAdmin, CapNetRaw}
	if ebpf {
		caps = append(caps, CapSysAdmin, CapSysResource, CapPerfmon, CapBPF)
	}
	return caps
}

// Mask returns the capability bitmask of caps, as /proc/PID/status shows it.
func Mask(caps []Cap) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// CheckPath refuses a file or directory that group or others can write, or
// that is owned by a user other than root or the current one. The error
// names the path and its mode.
func CheckPath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("privilege: check %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		kind := "file"
		if fi.IsDir() {
			kind = "directory"
		}
		return fmt.Errorf("%w: %s %s has mode %#o; run chmod go-w %s",
			ErrWritable, kind, path, fi.Mode().Perm(), path)
	}
	if uid, ok := owner(fi); ok && uid != 0 && uid != os.Geteuid() {
		return fmt.Errorf("privilege: %s is owned by uid %d, not root or uid %d", path, uid, os.Geteuid())
	}
	return nil
}

// Status is the capability state of a thread, from /proc/.../status.
type Status struct {
	Inheritable, Permitted, Effective, Bounding, Ambient uint64
	NoNewPrivs                                           bool
}

// ReadStatus parses a /proc/PID/status or /proc/PID/task/TID/status file.
func ReadStatus(path string) (Status, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Status{}, err
	}
	var s Status
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var dst *uint64
		switch k {
		case "CapInh":
			dst = &s.Inheritable
		case "CapPrm":
			dst = &s.Permitted
		case "CapEff":
			dst = &s.Effective
		case "CapBnd":
			dst = &s.Bounding
		case "CapAmb":
			dst = &s.Ambient
		case "NoNewPrivs":
			s.NoNewPrivs = v == "1"
			continue
		default:
			continue
		}
		if *dst, err = strconv.ParseUint(v, 16, 64); err != nil {
			return Status{}, fmt.Errorf("privilege: parse %s %s: %w", path, k, err)
		}
	}
	return s, nil
}
