package ebpf

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/apitap/apitap/sensor/exchange"
)

// Resolver maps the cgroup id the kernel reports (bpf_get_current_cgroup_id,
// the inode number of the cgroup v2 directory) to the container and the
// Kubernetes pod a process runs in. Paths are found by walking the cgroup v2
// mount once per unknown id and cached, bounded. Safe for concurrent use.
type Resolver struct {
	root string // cgroup v2 mount

	mu    sync.Mutex
	paths map[uint64]string // id -> path relative to root; "" = not found
	max   int
}

// NewResolver returns a Resolver over the cgroup v2 hierarchy at root; an
// empty root finds it (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid
// hosts).
func NewResolver(root string) *Resolver {
	if root == "" {
		root = "/sys/fs/cgroup"
		var st syscall.Statfs_t
		const cgroup2Magic = 0x63677270
		if syscall.Statfs(root, &st) == nil && st.Type != cgroup2Magic {
			if syscall.Statfs(root+"/unified", &st) == nil && st.Type == cgroup2Magic {
				root += "/unified"
			}
		}
	}
	return &Resolver{root: root, paths: make(map[uint64]string), max: 16384}
}

// Process returns the attribution of a chunk or packet's process.
func (r *Resolver) Process(pid, tid uint32, comm string, cgroupID uint64) *exchange.Process {
	p := &exchange.Process{PID: pid, TID: tid, Comm: comm, CgroupID: cgroupID}
	if cgroupID != 0 {
		p.Container, p.Pod = ParseCgroupPath(r.Path(cgroupID))
	}
	return p
}

// Path returns the cgroup path (relative to the v2 root, with a leading /)
// of id, or "" when no directory has that inode.
func (r *Resolver) Path(id uint64) string {
	r.mu.Lock()
	p, ok := r.paths[id]
	r.mu.Unlock()
	if ok {
		return p
	}
	p = r.walk(id)
	r.mu.Lock()
	if len(r.paths) >= r.max {
		clear(r.paths)
	}
	r.paths[id] = p
	r.mu.Unlock()
	return p
}

// walk searches the hierarchy for the directory whose inode is id, caching
// every directory it passes so later lookups of siblings are free.
func (r *Resolver) walk(id uint64) string {
	found := ""
	seen := make(map[uint64]string)
	filepath.WalkDir(r.root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel := "/" + strings.TrimPrefix(strings.TrimPrefix(path, r.root), "/")
		seen[st.Ino] = rel
		if st.Ino == id {
			found = rel
			return fs.SkipAll
		}
		return nil
	})
	r.mu.Lock()
	for ino, p := range seen {
		if len(r.paths) < r.max {
			r.paths[ino] = p
		}
	}
	r.mu.Unlock()
	return found
}

// ParseCgroupPath extracts a container id and a Kubernetes pod UID from a
// cgroup path. It recognises the shapes of the common runtimes:
//
//	/system.slice/docker-<64 hex>.scope                       (docker, systemd driver)
//	/docker/<64 hex>                                          (docker, cgroupfs driver)
//	/kubepods.slice/kubepods-burstable.slice/
//	    kubepods-burstable-pod<uid with _>.slice/cri-containerd-<64 hex>.scope
//	/kubepods/besteffort/pod<uid>/<64 hex>                    (cgroupfs driver)
//	.../crio-<64 hex>.scope, .../libpod-<64 hex>.scope        (cri-o, podman)
//
// The pod UID is returned with dashes (systemd escapes them as '_').
func ParseCgroupPath(path string) (container, pod string) {
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		name := strings.TrimSuffix(strings.TrimSuffix(seg, ".scope"), ".slice")
		if i := strings.LastIndex(name, "pod"); i >= 0 && strings.Contains(path, "kubepods") {
			uid := strings.ReplaceAll(name[i+3:], "_", "-")
			if isPodUID(uid) {
				pod = uid
				continue
			}
		}
		// Runtime prefixes: docker-, cri-containerd-, crio-, libpod-, containerd-.
		if j := strings.LastIndexByte(name, '-'); j >= 0 {
			name = name[j+1:]
		}
		if isContainerID(name) {
			container = name
		}
	}
	return container, pod
}

func isContainerID(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isPodUID checks the 8-4-4-4-12 hex shape of a UUID.
func isPodUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// selfCgroupID returns the cgroup v2 id of the calling process, for tests.
func selfCgroupID(root string) (uint64, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(root, rest), &st); err != nil {
				return 0, err
			}
			return st.Ino, nil
		}
	}
	return 0, os.ErrNotExist
}
