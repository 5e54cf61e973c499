package ebpf

import (
	"io"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// TestCaptureBatchedWakeup: a record written without a wakeup (below
// WakeupBytes) still reaches ReadPacket within about PollInterval, and Close
// ends a ReadPacket that waits between polls.
func TestCaptureBatchedWakeup(t *testing.T) {
	c := newTestRunCapture(t)
	if c.poll != 20*time.Millisecond {
		t.Fatalf("poll interval %v; want the 20ms default", c.poll)
	}
	start := time.Now()
	ran := make(chan error, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		// One ~100-byte record: far below the threshold, so no wakeup.
		_, err := c.objs.CaptureIngress.Run(&ebpf.RunOptions{Data: httpFrame()})
		ran <- err
	}()
	if _, _, err := c.ReadPacket(); err != nil {
		t.Fatalf("ReadPacket: %v", err)
	}
	if err := <-ran; err != nil {
		t.Skipf("skipping: BPF_PROG_TEST_RUN: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("record below the wakeup threshold read after %v; want about 70ms", d)
	}

	done := make(chan error, 1)
	go func() {
		_, _, err := c.ReadPacket()
		done <- err
	}()
	time.Sleep(60 * time.Millisecond) // a few polls
	c.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Errorf("ReadPacket after Close = %v; want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadPacket still blocked 5s after Close")
	}
}
