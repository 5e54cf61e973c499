// Package deploy holds the deployment files (systemd unit, Kubernetes
// manifests, Dockerfile); its tests parse them strictly and check their
// security settings.
package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/apitap/apitap/sensor/config"
)

var wantCaps = []corev1.Capability{"NET_RAW", "NET_ADMIN", "BPF", "PERFMON", "SYS_ADMIN", "SYS_RESOURCE"}

// decode parses one manifest into out, rejecting unknown or misspelt fields.
func decode(t *testing.T, name string, out any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestManifestsParseStrictly(t *testing.T) {
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	kinds := map[string]func() any{
		"Namespace":      func() any { return new(corev1.Namespace) },
		"ServiceAccount": func() any { return new(corev1.ServiceAccount) },
		"ConfigMap":      func() any { return new(corev1.ConfigMap) },
		"Secret":         func() any { return new(corev1.Secret) },
		"Service":        func() any { return new(corev1.Service) },
		"DaemonSet":      func() any { return new(appsv1.DaemonSet) },
	}
	seen := map[string]bool{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			var meta struct {
				Kind string `json:"kind"`
			}
			b, _ := os.ReadFile(f)
			if err := yaml.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			mk, ok := kinds[meta.Kind]
			if !ok {
				t.Fatalf("unexpected kind %q", meta.Kind)
			}
			seen[meta.Kind] = true
			decode(t, filepath.Base(f), mk())
		})
	}
	for k := range kinds {
		if !seen[k] {
			t.Errorf("no manifest of kind %s", k)
		}
	}
}

func TestDaemonSetSecurity(t *testing.T) {
	var ds appsv1.DaemonSet
	decode(t, "daemonset.yaml", &ds)
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || spec.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
		t.Errorf("hostNetwork %v dnsPolicy %q; want true, ClusterFirstWithHostNet", spec.HostNetwork, spec.DNSPolicy)
	}
	if !slices.ContainsFunc(spec.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Operator == corev1.TolerationOpExists && tl.Key == "" && tl.Effect == ""
	}) {
		t.Errorf("tolerations %+v; want one that tolerates every taint", spec.Tolerations)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers; want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	sc := c.SecurityContext
	if sc == nil || sc.Capabilities == nil {
		t.Fatal("container has no securityContext.capabilities")
	}
	if sc.Privileged == nil || *sc.Privileged {
		t.Error("privileged must be set to false")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be false")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Error("readOnlyRootFilesystem must be true")
	}
	if !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("capabilities.drop = %v; want [ALL]", sc.Capabilities.Drop)
	}
	got := slices.Clone(sc.Capabilities.Add)
	want := slices.Clone(wantCaps)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("capabilities.add = %v; want %v", got, want)
	}
	if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("livenessProbe = %+v; want GET /healthz", c.LivenessProbe)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("readinessProbe = %+v; want GET /readyz", c.ReadinessProbe)
	}
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[r]; !ok {
			t.Errorf("no %s request", r)
		}
		if _, ok := c.Resources.Limits[r]; !ok {
			t.Errorf("no %s limit", r)
		}
	}
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == "metrics" }) {
		t.Error("no container port named metrics")
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for _, p := range []string{"/sys/fs/bpf", "/sys/kernel/tracing", "/var/lib/apitap", "/etc/apitap/kafka"} {
		if mounts[p] == "" {
			t.Errorf("no volume mounted at %s", p)
		}
	}
	for _, v := range spec.Volumes {
		if v.Name == "kafka-credentials" && (v.Secret == nil || v.Secret.SecretName != "apitap-kafka") {
			t.Errorf("kafka-credentials volume is not the apitap-kafka Secret: %+v", v.VolumeSource)
		}
	}
}

// TestConfigMapValidates runs the sensor's own validator on the shipped
// configuration, with the secret file path pointed at a temporary file.
func TestConfigMapValidates(t *testing.T) {
	var cm corev1.ConfigMap
	decode(t, "configmap.yaml", &cm)
	pw := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pw, []byte("x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	data := strings.ReplaceAll(cm.Data["apitap.yaml"], "/etc/apitap/kafka/password", pw)
	noEnv := func(string) (string, bool) { return "", false }
	c, err := config.Parse("configmap.yaml", []byte(data), noEnv, nil)
	if err != nil {
		t.Fatalf("config in configmap.yaml: %v", err)
	}
	var svc corev1.Service
	decode(t, "service.yaml", &svc)
	if !strings.HasSuffix(c.Metrics.Listen, ":9477") || svc.Spec.Ports[0].Port != 9477 {
		t.Errorf("metrics listen %q and service port %d disagree", c.Metrics.Listen, svc.Spec.Ports[0].Port)
	}
}

// unit reads the [Service] keys of the systemd unit.
func unit(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile("apitap.service")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("apitap.service: malformed line %q", line)
		}
		if section == "Service" {
			keys[k] = v
		}
	}
	return keys
}

func TestSystemdHardening(t *testing.T) {
	keys := unit(t)
	want := map[string]string{
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"StateDirectory":          "apitap",
		"ConfigurationDirectory":  "apitap",
		"ReadWritePaths":          "/var/lib/apitap",
		"SystemCallArchitectures": "native",
	}
	for k, v := range want {
		if keys[k] != v {
			t.Errorf("%s=%q; want %q", k, keys[k], v)
		}
	}
	for _, k := range []string{"MemoryMax", "TasksMax"} {
		if keys[k] == "" {
			t.Errorf("%s is not set", k)
		}
	}
	var caps []string
	for _, c := range wantCaps {
		caps = append(caps, "CAP_"+string(c))
	}
	slices.Sort(caps)
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		got := strings.Fields(keys[k])
		slices.Sort(got)
		if !slices.Equal(got, caps) {
			t.Errorf("%s = %v; want %v", k, got, caps)
		}
	}
	fams := strings.Fields(keys["RestrictAddressFamilies"])
	for _, f := range []string{"AF_PACKET", "AF_NETLINK", "AF_INET", "AF_INET6", "AF_UNIX"} {
		if !slices.Contains(fams, f) {
			t.Errorf("RestrictAddressFamilies %v lacks %s", fams, f)
		}
	}
}

func TestSystemdVerify(t *testing.T) {
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	// verify wants the ExecStart binary to exist: point it at one that does.
	b, err := os.ReadFile("apitap.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	u := strings.ReplaceAll(string(b), "/usr/local/bin/apitap", "/bin/true")
	p := filepath.Join(dir, "apitap.service")
	if err := os.WriteFile(p, []byte(u), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", p).CombinedOutput()
	// Outside a booted systemd, verify may still complain about the host
	// (missing dbus, units it cannot load); only lines about our unit count.
	var ours []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "apitap.service") {
			ours = append(ours, l)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
	}
}
