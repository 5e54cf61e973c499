package ebpf

// The generated bindings and objects are committed so that go build needs no
// clang. Regenerate with `go generate ./sensor/ebpf` (clang-14 on PATH). The
// arm64 object uses the x86 vmlinux.h: the programs only touch types whose
// layout is architecture independent or relocated by CO-RE, plus the arm64
// user_pt_regs that apitap.h declares for the uprobe argument macros.

//go:generate go tool bpf2go -cc clang-14 -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type pkt_event -type capture_config -type flow_key -type flow_state capture ../../bpf/capture.c -- -I../../bpf/include
//go:generate go tool bpf2go -cc clang-14 -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type tls_event -type exec_event -type go_proc -type go_site tls ../../bpf/tls.c -- -I../../bpf/include
//go:generate go tool bpf2go -cc clang-14 -cflags "-O2 -g -Wall -Werror" -target amd64,arm64 -type sock_tuple -type sock_owner socket ../../bpf/socket.c -- -I../../bpf/include
