//go:build !amd64

package capture

import "unsafe"

// prefetch does nothing on this architecture: the hardware prefetcher and
// demand misses have to do (see prefetch_amd64.s).
func prefetch(unsafe.Pointer, uintptr) {}
