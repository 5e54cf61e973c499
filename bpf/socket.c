//go:build ignore

// socket.c: remembers which process owns each TCP socket, keyed by the
// socket's addresses, so that flows seen by packet capture (AF_PACKET or the
// TCX classifier, where no process context exists) can be joined to a
// process by a map lookup from user space.
//
// Two moments are owned by the process: connect(), where the socket enters
// SYN_SENT, and accept(), which returns the new socket's fd. At SYN_SENT the
// local port may not be chosen yet (tcp_v4_connect sets the state before
// inet_hash_connect picks the port), so the owner is parked under the sock
// pointer and published under the 5-tuple when the socket reaches
// ESTABLISHED, which happens in softirq context with an arbitrary current
// task. Passive sockets are created in softirq too; their owner is whoever
// accepts them, read at the syscall's exit. Entries are never deleted on
// close: flow reports come after the close, and the LRU (or the next socket
// with the same 5-tuple) replaces them.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

char __license[] SEC("license") = "Dual BSD/GPL";

#define AF_INET_ 2
#define AF_INET6_ 10
#define IPPROTO_TCP_ 6
#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_CLOSE_ 7

/* A socket's endpoints from its own point of view. IPv4 addresses are stored
 * IPv4-mapped (::ffff:a.b.c.d), so a dual-stack socket talking IPv4 and a
 * plain IPv4 socket share one form. Ports in host order. */
struct sock_tuple {
    __u8 laddr[16];
    __u8 raddr[16];
    __u16 lport;
    __u16 rport;
    __u32 pad;
};

/* The process that connected or accepted the socket. */
struct sock_owner {
    __u64 cgroup_id;
    __u64 ts_boot_ns; /* when the owner was recorded */
    __u32 pid;        /* thread group id */
    __u32 tid;
    char comm[16];
};

enum sock_stat_idx {
    SSTAT_CONNECT = 0, /* connecting sockets published at ESTABLISHED */
    SSTAT_ACCEPT,      /* accepted sockets published */
    SSTAT_NO_OWNER,    /* ESTABLISHED from SYN_SENT with no parked owner */
    SSTAT_NOT_INET,    /* accepted fds that were not IPv4/IPv6 sockets */
    SSTAT_MAX,
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct sock_tuple);
    __type(value, struct sock_owner);
} sock_owners SEC(".maps");

/* struct sock pointer -> owner, between SYN_SENT and ESTABLISHED. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct sock_owner);
} connecting SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SSTAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} sock_stats SEC(".maps");

const struct sock_tuple *unused_sock_tuple __attribute__((unused));
const struct sock_owner *unused_sock_owner __attribute__((unused));

static __always_inline void scount(__u32 idx) {
    __u64 *v = bpf_map_lookup_elem(&sock_stats, &idx);
    if (v)
        *v += 1;
}

static __always_inline void current_owner(struct sock_owner *o) {
    __u64 id = bpf_get_current_pid_tgid();
    o->pid = id >> 32;
    o->tid = (__u32)id;
    o->cgroup_id = bpf_get_current_cgroup_id();
    o->ts_boot_ns = bpf_ktime_get_boot_ns();
    bpf_get_current_comm(&o->comm, sizeof(o->comm));
}

/* tuple_of fills t from sk; it returns 0 when sk is not an IPv4/IPv6 socket
 * or has no local port yet. */
static __always_inline int tuple_of(const struct sock *sk, struct sock_tuple *t) {
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family == AF_INET_) {
        __u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        __u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
        t->laddr[10] = 0xff;
        t->laddr[11] = 0xff;
        t->raddr[10] = 0xff;
        t->raddr[11] = 0xff;
        __builtin_memcpy(&t->laddr[12], &l, 4);
        __builtin_memcpy(&t->raddr[12], &r, 4);
    } else if (family == AF_INET6_) {
        BPF_CORE_READ_INTO(&t->laddr, sk, __sk_common.skc_v6_rcv_saddr);
        BPF_CORE_READ_INTO(&t->raddr, sk, __sk_common.skc_v6_daddr);
    } else {
        return 0;
    }
    t->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
    t->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    return t->lport != 0;
}

/* BTF tracepoint: no tracefs needed, and the sock argument is typed. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(on_sock_state, const struct sock *sk, int oldstate, int newstate) {
    if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_)
        return 0;
    __u64 key = (__u64)sk;
    if (newstate == TCP_SYN_SENT_) {
        /* connect(): the caller's task owns the socket. */
        struct sock_owner o = {};
        current_owner(&o);
        bpf_map_update_elem(&connecting, &key, &o, BPF_ANY);
        return 0;
    }
    if (oldstate != TCP_SYN_SENT_)
        return 0;
    struct sock_owner *o = bpf_map_lookup_elem(&connecting, &key);
    if (newstate == TCP_ESTABLISHED_) {
        if (!o) {
            scount(SSTAT_NO_OWNER);
            return 0;
        }
        struct sock_tuple t = {};
        if (tuple_of(sk, &t)) {
            bpf_map_update_elem(&sock_owners, &t, o, BPF_ANY);
            scount(SSTAT_CONNECT);
        }
    }
    /* ESTABLISHED or CLOSE (refused, timed out): the parked entry is done. */
    if (o)
        bpf_map_delete_elem(&connecting, &key);
    return 0;
}

/* Layout of syscalls/sys_exit_* tracepoints: common header, syscall number,
 * return value. */
struct sys_exit_ctx {
    __u64 common;
    __s32 nr;
    __u32 pad;
    __s64 ret;
};

/* accepted publishes the owner of the socket behind the fd accept returned,
 * walking task->files->fdt->fd[fd]->private_data->sk with CO-RE. */
static __always_inline int accepted(struct sys_exit_ctx *ctx) {
    if (ctx->ret < 0)
        return 0;
    int fd = (int)ctx->ret;
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
        return 0;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) < 0 || !f)
        return 0;
    struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
    struct sock *sk = BPF_CORE_READ(sock, sk);
    if (!sk)
        return 0;
    if (BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP_) {
        scount(SSTAT_NOT_INET);
        return 0;
    }
    struct sock_tuple t = {};
    if (!tuple_of(sk, &t)) {
        scount(SSTAT_NOT_INET);
        return 0;
    }
    struct sock_owner o = {};
    current_owner(&o);
    bpf_map_update_elem(&sock_owners, &t, &o, BPF_ANY);
    scount(SSTAT_ACCEPT);
    return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int exit_accept4(struct sys_exit_ctx *ctx) {
    return accepted(ctx);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int exit_accept(struct sys_exit_ctx *ctx) {
    return accepted(ctx);
}
