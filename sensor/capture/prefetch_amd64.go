package capture

import "unsafe"

// prefetch asks the CPU to bring the n bytes at p into its caches, one cache
// line at a time, without waiting for them. It is only a hint: an address
// that is not mapped (a file that shrank) does not fault.
//
//go:noescape
func prefetch(p unsafe.Pointer, n uintptr)
