package ebpf

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParseCgroupPath(t *testing.T) {
	const cid = "3f1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a"
	for _, tc := range []struct {
		name, path, container, pod string
	}{
		{"docker systemd driver", "/system.slice/docker-" + cid + ".scope", cid, ""},
		{"docker cgroupfs driver", "/docker/" + cid, cid, ""},
		{"k8s containerd systemd burstable",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
				"0c4ae6f2_5b1d_4e0a_9c3e_7f2b8a1d6e90.slice/cri-containerd-" + cid + ".scope",
			cid, "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90"},
		{"k8s guaranteed systemd",
			"/kubepods.slice/kubepods-pod0c4ae6f2_5b1d_4e0a_9c3e_7f2b8a1d6e90.slice/" +
				"cri-containerd-" + cid + ".scope",
			cid, "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90"},
		{"k8s cgroupfs besteffort",
			"/kubepods/besteffort/pod0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90/" + cid,
			cid, "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90"},
		{"cri-o", "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
			"0c4ae6f2_5b1d_4e0a_9c3e_7f2b8a1d6e90.slice/crio-" + cid + ".scope",
			cid, "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90"},
		{"podman", "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" +
			cid + ".scope", cid, ""},
		{"kind nested", "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-" +
			"besteffort.slice/kubelet-kubepods-besteffort-pod0c4ae6f2_5b1d_4e0a_9c3e_" +
			"7f2b8a1d6e90.slice/cri-containerd-" + cid + ".scope",
			cid, "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90"},
		{"host service", "/system.slice/nginx.service", "", ""},
		{"user session", "/user.slice/user-0.slice/session-3.scope", "", ""},
		{"root", "/", "", ""},
		{"empty", "", "", ""},
		{"short hex is no id", "/docker/3f1c2b9a", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, p := ParseCgroupPath(tc.path)
			if c != tc.container || p != tc.pod {
				t.Errorf("ParseCgroupPath(%q) = %q, %q; want %q, %q", tc.path, c, p,
					tc.container, tc.pod)
			}
		})
	}
}

// Resolve a directory tree shaped like a Kubernetes node's, by inode.
func TestResolverPath(t *testing.T) {
	root := t.TempDir()
	const cid = "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999"
	rel := "/kubepods.slice/kubepods-pod0c4ae6f2_5b1d_4e0a_9c3e_7f2b8a1d6e90.slice/" +
		"cri-containerd-" + cid + ".scope"
	if err := os.MkdirAll(filepath.Join(root, rel), 0o755); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "system.slice", "other.service"), 0o755)
	var st syscall.Stat_t
	if err := syscall.Stat(filepath.Join(root, rel), &st); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(root)
	if got := r.Path(st.Ino); got != rel {
		t.Fatalf("Path(%d) = %q; want %q", st.Ino, got, rel)
	}
	p := r.Process(7, 8, "app", st.Ino)
	if p.Container != cid || p.Pod != "0c4ae6f2-5b1d-4e0a-9c3e-7f2b8a1d6e90" || p.PID != 7 {
		t.Errorf("Process = %+v; want container %s and the pod UID", p, cid)
	}
	if got := r.Path(1 << 60); got != "" {
		t.Errorf("Path(unknown) = %q; want \"\"", got)
	}
}

// The id a real process reports resolves to its own cgroup on this host.
func TestResolverSelf(t *testing.T) {
	r := NewResolver("")
	id, err := selfCgroupID(r.root)
	if err != nil {
		t.Skipf("skipping: no cgroup v2 membership for this process: %v", err)
	}
	if got := r.Path(id); got == "" {
		t.Errorf("Path(own cgroup id %d) = \"\"; want a path", id)
	}
}
