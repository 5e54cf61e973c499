package cputime

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"
)

// userHZ is the unit of /proc/stat: the kernel reports in USER_HZ ticks,
// 100 a second on every architecture Go supports on Linux.
const userHZ = 100

// Steal returns the time the hypervisor has taken from this machine's
// virtual CPUs since boot, summed over them (the steal column of
// /proc/stat), or 0 where the kernel does not say. A benchmark on a
// virtual machine reads it before and after a run: time stolen is time a
// runnable thread did not run, which no change to the code can win back.
func Steal() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	// "cpu  user nice system idle iowait irq softirq steal guest guest_nice"
	fields := bytes.Fields(sc.Bytes())
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return 0
	}
	ticks, err := strconv.ParseUint(string(fields[8]), 10, 64)
	if err != nil {
		return 0
	}
	return time.Duration(ticks) * time.Second / userHZ
}
