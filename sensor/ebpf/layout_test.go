package ebpf

import (
	"testing"
	"unsafe"
)

// The hand-written decoders read records at fixed offsets; these tests pin
// those offsets to the bpf2go types generated from the C structs, so a change
// in apitap.h that is not mirrored in the decoders fails here.
func TestEventLayout(t *testing.T) {
	var p capturePktEvent
	var e tlsTlsEvent
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"sizeof(pkt_event)", unsafe.Sizeof(p), pktEventSize},
		{"pkt_event.ifindex", unsafe.Offsetof(p.Ifindex), 8},
		{"pkt_event.wire_len", unsafe.Offsetof(p.WireLen), 12},
		{"pkt_event.cap_len", unsafe.Offsetof(p.CapLen), 16},
		{"pkt_event.ingress", unsafe.Offsetof(p.Ingress), 18},
		{"sizeof(tls_event)", unsafe.Sizeof(e), tlsEventSize},
		{"tls_event.cgroup_id", unsafe.Offsetof(e.CgroupId), 8},
		{"tls_event.ssl", unsafe.Offsetof(e.Ssl), 16},
		{"tls_event.call_seq", unsafe.Offsetof(e.CallSeq), 24},
		{"tls_event.pid", unsafe.Offsetof(e.Pid), 32},
		{"tls_event.tid", unsafe.Offsetof(e.Tid), 36},
		{"tls_event.fd", unsafe.Offsetof(e.Fd), 40},
		{"tls_event.total_len", unsafe.Offsetof(e.TotalLen), 44},
		{"tls_event.offset", unsafe.Offsetof(e.Offset), 48},
		{"tls_event.len", unsafe.Offsetof(e.Len), 52},
		{"tls_event.lost", unsafe.Offsetof(e.Lost), 56},
		{"tls_event.dir", unsafe.Offsetof(e.Dir), 60},
		{"tls_event.last", unsafe.Offsetof(e.Last), 61},
		{"tls_event.comm", unsafe.Offsetof(e.Comm), 64},
		{"tls_event.laddr", unsafe.Offsetof(e.Laddr), 80},
		{"tls_event.raddr", unsafe.Offsetof(e.Raddr), 96},
		{"tls_event.lport", unsafe.Offsetof(e.Lport), 112},
		{"tls_event.rport", unsafe.Offsetof(e.Rport), 114},
		{"tls_event.family", unsafe.Offsetof(e.Family), 116},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d; want %d", tc.name, tc.got, tc.want)
		}
	}
}
