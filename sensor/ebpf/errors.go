package ebpf

import (
	"errors"
	"fmt"
)

// Errors returned by this package.
var (
	// ErrNotSupported is wrapped by every error that means "this kernel or
	// this process cannot run eBPF capture": no BTF, no BPF permission, no
	// TCX and no tc clsact. The message carries the one-line reason.
	ErrNotSupported = errors.New("ebpf: not supported")
	// ErrClosed is returned by sources after Close.
	ErrClosed = errors.New("ebpf: source closed")
	// ErrNoInterfaces is returned when a capture has no interface to watch.
	ErrNoInterfaces = errors.New("ebpf: no capture interfaces")
	// errShortRecord marks a ring record too short for its header; records
	// come from our own programs, so it is counted, never expected.
	errShortRecord = errors.New("ebpf: short ring record")
)

// notSupported wraps ErrNotSupported with a reason and, if any, the cause.
func notSupported(reason string, cause error) error {
	if cause == nil {
		return fmt.Errorf("%w: %s", ErrNotSupported, reason)
	}
	return fmt.Errorf("%w: %s: %w", ErrNotSupported, reason, cause)
}
