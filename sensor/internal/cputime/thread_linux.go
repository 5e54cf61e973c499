package cputime

import (
	"time"

	"golang.org/x/sys/unix"
)

// Thread returns the user plus system CPU time the calling thread has used
// so far. A goroutine must be locked to its thread (runtime.LockOSThread)
// for the difference of two calls to mean anything.
func Thread() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
