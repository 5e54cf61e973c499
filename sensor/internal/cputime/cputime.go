// Package cputime measures the CPU time a process spends, for benchmarks
// that compare variants of the same work in one run: on a shared machine,
// CPU seconds vary far less than wall time, because time spent waiting
// for another process's turn on a core is not counted.
package cputime

import (
	"syscall"
	"time"
)

// Now returns the user plus system CPU time the process has used so far,
// across all its threads (so it includes the garbage collector's work on
// other cores).
func Now() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Measure runs fn and returns the wall time and CPU time it took.
func Measure(fn func()) (wall, cpu time.Duration) {
	c0, t0 := Now(), time.Now()
	fn()
	return time.Since(t0), Now() - c0
}
