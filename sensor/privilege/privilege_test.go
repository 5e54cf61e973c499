package privilege

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const helperEnv = "APITAP_PRIVILEGE_HELPER"

// TestDropHelper runs only in the child process TestDrop starts: dropping
// capabilities is irreversible, so it must not happen in the test binary
// that runs the other tests.
func TestDropHelper(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for TestDrop")
	}
	// Start some threads first: Drop must reach all of them.
	done := make(chan struct{})
	for range 4 {
		go func() { runtime.LockOSThread(); <-done }()
	}
	defer close(done)
	if err := Drop(Needed(mode == "ebpf")); err != nil {
		fmt.Printf("ERR %v\n", err)
		return
	}
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range tasks {
		s, err := ReadStatus(p)
		if err != nil {
			fmt.Printf("ERR %v\n", err)
			return
		}
		fmt.Printf("TASK eff=%x prm=%x inh=%x bnd=%x amb=%x nnp=%v\n",
			s.Effective, s.Permitted, s.Inheritable, s.Bounding, s.Ambient, s.NoNewPrivs)
	}
}

func TestDrop(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: starts with full capabilities to drop them")
	}
	for _, mode := range []string{"afpacket", "ebpf"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestDropHelper$", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			// The child starts with our sets; a container may already lack
			// some of the wanted capabilities, and Drop never adds any.
			self, err := ReadStatus("/proc/self/status")
			if err != nil {
				t.Fatal(err)
			}
			want := Mask(Needed(mode == "ebpf"))
			prm, bnd := want&self.Permitted, want&self.Bounding
			if prm&(1<<CapNetRaw) == 0 {
				t.Skip("this root lacks CAP_NET_RAW; nothing meaningful to keep")
			}
			line := fmt.Sprintf("TASK eff=%x prm=%x inh=0 bnd=%x amb=0 nnp=true", prm, prm, bnd)
			var tasks int
			for _, l := range strings.Split(string(out), "\n") {
				if strings.HasPrefix(l, "ERR ") {
					t.Fatalf("helper: %s", l)
				}
				if !strings.HasPrefix(l, "TASK ") {
					continue
				}
				tasks++
				if l != line {
					t.Errorf("thread status %q; want %q", l, line)
				}
			}
			if tasks < 5 {
				t.Errorf("helper reported %d threads; want >= 5\n%s", tasks, out)
			}
		})
	}
}

func TestMask(t *testing.T) {
	if got, want := Mask(Needed(false)), uint64(0x3000); got != want {
		t.Errorf("Mask(Needed(false)) = %#x; want %#x", got, want)
	}
	if got, want := Mask(Needed(true)), uint64(0xc001203000); got != want {
		t.Errorf("Mask(Needed(true)) = %#x; want %#x", got, want)
	}
}

func TestCheckPath(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		mode os.FileMode
		dir  bool
		want string // "" for no error
	}{
		{"private file", 0o600, false, ""},
		{"world-readable file", 0o644, false, ""},
		{"group-writable file", 0o664, false, "privilege: writable by group or others: file %s has mode 0664; run chmod go-w %s"},
		{"world-writable file", 0o606, false, "privilege: writable by group or others: file %s has mode 0606; run chmod go-w %s"},
		{"private dir", 0o700, true, ""},
		{"world-writable dir", 0o777, true, "privilege: writable by group or others: directory %s has mode 0777; run chmod go-w %s"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprint(i))
			var err error
			if tt.dir {
				err = os.Mkdir(p, 0o700)
			} else {
				err = os.WriteFile(p, nil, 0o600)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tt.mode); err != nil {
				t.Fatal(err)
			}
			err = CheckPath(p)
			if tt.want == "" {
				if err != nil {
					t.Errorf("CheckPath(%s) = %v; want nil", p, err)
				}
				return
			}
			want := fmt.Sprintf(tt.want, p, p)
			if err == nil || err.Error() != want || !errors.Is(err, ErrWritable) {
				t.Errorf("CheckPath(%s) = %v; want %q", p, err, want)
			}
		})
	}
}
