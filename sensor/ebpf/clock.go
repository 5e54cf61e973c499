package ebpf

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootClock converts bpf_ktime_get_boot_ns stamps to wall-clock time. The
// offset is measured once; CLOCK_BOOTTIME keeps counting through suspend, so
// it stays right unless the wall clock itself is stepped.
type bootClock struct {
	offset int64 // wall ns minus boot ns
}

func newBootClock() bootClock {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return bootClock{}
	}
	return bootClock{offset: time.Now().UnixNano() - ts.Nano()}
}

func (c bootClock) time(bootNs uint64) time.Time {
	return time.Unix(0, int64(bootNs)+c.offset)
}
