//go:build linux

package privilege

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Drop keeps only caps: it removes every other capability from the bounding
// set, sets effective and permitted to caps and inheritable to nothing,
// clears the ambient set and sets no_new_privs, on every thread of the
// process. It needs CAP_SETPCAP to shrink the bounding set (root has it) and
// a process without cgo (ErrCgo otherwise). Capabilities in caps that the
// process does not hold are not gained.
func Drop(caps []Cap) error {
	keep := Mask(caps)
	last, err := lastCap()
	if err != nil {
		return err
	}

	// The bounding set first: dropping from it needs CAP_SETPCAP, which the
	// capset below removes.
	for c := uintptr(0); c <= last; c++ {
		if keep&(1<<c) != 0 {
			continue
		}
		if err := allThreads(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0); err != nil {
			return fmt.Errorf("privilege: drop capability %d from the bounding set: %w", c, err)
		}
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0); err != nil {
		return fmt.Errorf("privilege: clear ambient capabilities: %w", err)
	}

	// Keep only what we hold already: capset fails if asked to add to the
	// permitted set.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var cur [2]unix.CapUserData
	if err := unix.Capget(&hdr, &cur[0]); err != nil {
		return fmt.Errorf("privilege: read capabilities: %w", err)
	}
	held := uint64(cur[0].Permitted) | uint64(cur[1].Permitted)<<32
	keep &= held
	data := [2]unix.CapUserData{
		{Effective: uint32(keep), Permitted: uint32(keep)},
		{Effective: uint32(keep >> 32), Permitted: uint32(keep >> 32)},
	}
	if err := allThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); err != nil {
		return fmt.Errorf("privilege: set capabilities: %w", err)
	}
	if err := allThreads(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0); err != nil {
		return fmt.Errorf("privilege: set no_new_privs: %w", err)
	}
	return nil
}

func allThreads(trap, a1, a2, a3 uintptr) error {
	_, _, errno := syscall.AllThreadsSyscall(trap, a1, a2, a3)
	if errno == syscall.ENOTSUP {
		return ErrCgo
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// lastCap is the highest capability the running kernel knows.
func lastCap() (uintptr, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("privilege: read cap_last_cap: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n < 0 || n > 63 {
		return 0, errors.New("privilege: cap_last_cap is not a capability number")
	}
	return uintptr(n), nil
}

func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}
