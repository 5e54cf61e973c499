//go:build ignore

// tls.c: uprobes on OpenSSL's SSL_read/SSL_write (and the _ex variants), and
// on Go's (*crypto/tls.Conn).Read/Write (see "Go crypto/tls" below), that
// copy the plaintext into a ring buffer, tied to the connection's socket.
//
// The SSL* is the per-process connection key. Its socket fd is learnt from
// the first read/write-family syscall the same thread makes while inside an
// SSL call (syscall tracepoints), and remembered per SSL* so that calls served
// from OpenSSL's buffer, which make no syscall, still carry it. User space
// turns pid+fd into addresses through /proc.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

#include "apitap.h"

char __license[] SEC("license") = "Dual BSD/GPL";

#define AF_INET_ 2
#define AF_INET6_ 10

/* Endpoints of a socket, as copied into struct tls_event. */
struct sock_addrs {
    __u8 laddr[16];
    __u8 raddr[16];
    __u16 lport;
    __u16 rport;
    __u8 family;
    __u8 pad[3];
};

/* Arguments of an SSL call in flight, keyed by pid_tgid. */
struct ssl_args {
    __u64 ssl;
    __u64 buf;
    __u64 len_ptr; /* size_t* of the _ex variants, 0 otherwise */
    __s32 fd;
    __u32 dir;
    struct sock_addrs sa;
};

struct ssl_key {
    __u64 ssl;
    __u32 pid;
    __u32 pad;
};

struct ssl_conn {
    __s32 fd;
    __u32 lost_write; /* whole calls lost since the last record, in bytes */
    __u32 lost_read;
    __u32 pad;
    struct sock_addrs sa;
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16384);
    __type(key, __u64);
    __type(value, struct ssl_args);
} active SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct ssl_key);
    __type(value, struct ssl_conn);
} conns SEC(".maps");

/* Size is set from user space (TLSConfig.RingBytes) before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 8 << 20);
} tls_ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 << 10);
} exec_ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, TSTAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} tls_stats SEC(".maps");

struct tls_scratch {
    struct tls_event hdr;
    __u8 data[TLS_PART_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct tls_scratch);
} tls_scratch_map SEC(".maps");

const struct tls_event *unused_tls_event __attribute__((unused));
const struct exec_event *unused_exec_event __attribute__((unused));
const enum go_site *unused_go_site __attribute__((unused));

static __always_inline void tcount(__u32 idx, __u64 n) {
    __u64 *v = bpf_map_lookup_elem(&tls_stats, &idx);
    if (v)
        *v += n;
}

static __always_inline int enter(__u64 ssl, __u64 buf, __u64 len_ptr, __u32 dir) {
    __u64 id = bpf_get_current_pid_tgid();
    struct ssl_args a = {.ssl = ssl, .buf = buf, .len_ptr = len_ptr, .fd = -1, .dir = dir};
    /* BPF_NOEXIST: an SSL call nested in another on the same thread (a
     * library wrapping OpenSSL) keeps the outer call's arguments. */
    bpf_map_update_elem(&active, &id, &a, BPF_NOEXIST);
    return 0;
}

/* State for emit_part, the bpf_loop body. bpf_loop (Linux 5.17+) is used
 * instead of a bounded for loop: the verifier checks the body once instead of
 * once per iteration and path, which overflowed its 1M instruction budget. */
struct emit_ctx {
    __u64 buf;
    __u64 n;
    __u32 *lostp;
    __u32 emitted;
};

static long emit_part(__u32 i, void *data) {
    struct emit_ctx *ec = data;
    __u32 zero = 0;
    struct tls_scratch *sc = bpf_map_lookup_elem(&tls_scratch_map, &zero);
    if (!sc)
        return 1;
    __u64 off = (__u64)i * TLS_PART_MAX;
    if (off >= ec->n)
        return 1;
    __u64 part = ec->n - off;
    if (part > TLS_PART_MAX)
        part = TLS_PART_MAX;
    sc->hdr.offset = off;
    sc->hdr.len = part;
    sc->hdr.last = off + part >= ec->n;
    if (bpf_probe_read_user(sc->data, part, (void *)(ec->buf + off)) < 0) {
        /* Unreadable user memory (paged out): the piece goes out empty and
         * user space counts its bytes as lost. */
        sc->hdr.len = 0;
        part = 0;
    }
    /* Woken only once TLS_WAKEUP_BYTES wait: a wakeup per record cost the
     * probed program more than the copy (user space polls meanwhile). */
    __u64 wake = BPF_RB_NO_WAKEUP;
    if (bpf_ringbuf_query(&tls_ring, BPF_RB_AVAIL_DATA) >= TLS_WAKEUP_BYTES)
        wake = BPF_RB_FORCE_WAKEUP;
    if (bpf_ringbuf_output(&tls_ring, sc, sizeof(sc->hdr) + part, wake) < 0) {
        tcount(TSTAT_RING_DROP, 1);
        return 0;
    }
    tcount(TSTAT_PARTS, 1);
    if (!ec->emitted) {
        ec->emitted = 1;
        /* The first record of the call carried the pending loss. */
        if (ec->lostp)
            *ec->lostp = 0;
        sc->hdr.lost = 0;
    }
    return 0;
}

static __always_inline int emit_call(__u64 id, __u64 ssl, __u64 buf, __u64 n, __u32 dir,
                                     __s32 fd, struct sock_addrs *sa);

static __always_inline int leave(long ret, int is_ex) {
    __u64 id = bpf_get_current_pid_tgid();
    struct ssl_args *a = bpf_map_lookup_elem(&active, &id);
    if (!a)
        return 0;
    struct ssl_args args = *a;
    bpf_map_delete_elem(&active, &id);

    __u64 n = 0;
    if (is_ex) {
        if (ret != 1 || !args.len_ptr)
            return 0;
        if (bpf_probe_read_user(&n, sizeof(n), (void *)args.len_ptr) < 0)
            return 0;
    } else {
        if (ret <= 0)
            return 0;
        n = ret;
    }
    return emit_call(id, args.ssl, args.buf, n, args.dir, args.fd, &args.sa);
}

/* emit_call sends the n plaintext bytes at buf that one call moved on the
 * connection ssl (with the pid, the per-process key): it notes the socket,
 * when the call learnt it (fd >= 0), in the connection's state, and writes
 * the bytes to the ring in pieces. */
static __always_inline int emit_call(__u64 id, __u64 ssl, __u64 buf, __u64 n, __u32 dir,
                                     __s32 fd, struct sock_addrs *sa) {
    if (n == 0 || n > 0x7fffffff)
        return 0;
    tcount(TSTAT_CALLS, 1);

    __u32 pid = id >> 32;
    struct ssl_key ck = {.ssl = ssl, .pid = pid};
    struct ssl_conn *conn = bpf_map_lookup_elem(&conns, &ck);
    if (!conn) {
        struct ssl_conn fresh = {.fd = -1};
        bpf_map_update_elem(&conns, &ck, &fresh, BPF_ANY);
        conn = bpf_map_lookup_elem(&conns, &ck);
        if (!conn)
            return 0;
    }
    if (fd >= 0) {
        conn->fd = fd;
        if (sa->family)
            conn->sa = *sa;
    }
    if (conn->fd < 0)
        tcount(TSTAT_NO_FD, 1);

    __u32 zero = 0;
    struct tls_scratch *sc = bpf_map_lookup_elem(&tls_scratch_map, &zero);
    if (!sc)
        return 0;
    sc->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
    sc->hdr.cgroup_id = bpf_get_current_cgroup_id();
    sc->hdr.ssl = ssl;
    sc->hdr.call_seq = sc->hdr.ts_boot_ns;
    sc->hdr.pid = pid;
    sc->hdr.tid = (__u32)id;
    sc->hdr.fd = conn->fd;
    sc->hdr.total_len = n;
    sc->hdr.dir = dir;
    bpf_get_current_comm(&sc->hdr.comm, sizeof(sc->hdr.comm));
    __u32 *lostp = dir == TLS_WRITE ? &conn->lost_write : &conn->lost_read;
    sc->hdr.lost = *lostp;
    __builtin_memcpy(sc->hdr.laddr, conn->sa.laddr, 16);
    __builtin_memcpy(sc->hdr.raddr, conn->sa.raddr, 16);
    sc->hdr.lport = conn->sa.lport;
    sc->hdr.rport = conn->sa.rport;
    sc->hdr.family = conn->sa.family;

    struct emit_ctx ec = {.buf = buf, .n = n, .lostp = lostp};
    bpf_loop(TLS_PARTS_MAX, emit_part, &ec, 0);
    int emitted = ec.emitted;
    if (n > (__u64)TLS_PARTS_MAX * TLS_PART_MAX)
        tcount(TSTAT_LOST_BYTES, n - (__u64)TLS_PARTS_MAX * TLS_PART_MAX);
    if (!emitted) {
        /* Nothing of this call reached user space: carry its size to the
         * connection's next record so the consumer learns of the gap. */
        __sync_fetch_and_add(lostp, (__u32)n);
        tcount(TSTAT_LOST_BYTES, n);
    }
    return 0;
}

SEC("uprobe/SSL_write")
int BPF_KPROBE(ssl_write, void *ssl, const void *buf, int num) {
    return enter((__u64)ssl, (__u64)buf, 0, TLS_WRITE);
}

SEC("uretprobe/SSL_write")
int BPF_KRETPROBE(ssl_write_ret, int ret) {
    return leave(ret, 0);
}

SEC("uprobe/SSL_read")
int BPF_KPROBE(ssl_read, void *ssl, void *buf, int num) {
    return enter((__u64)ssl, (__u64)buf, 0, TLS_READ);
}

SEC("uretprobe/SSL_read")
int BPF_KRETPROBE(ssl_read_ret, int ret) {
    return leave(ret, 0);
}

SEC("uprobe/SSL_write_ex")
int BPF_KPROBE(ssl_write_ex, void *ssl, const void *buf, __u64 num, __u64 *written) {
    return enter((__u64)ssl, (__u64)buf, (__u64)written, TLS_WRITE);
}

SEC("uretprobe/SSL_write_ex")
int BPF_KRETPROBE(ssl_write_ex_ret, int ret) {
    return leave(ret, 1);
}

SEC("uprobe/SSL_read_ex")
int BPF_KPROBE(ssl_read_ex, void *ssl, void *buf, __u64 num, __u64 *readbytes) {
    return enter((__u64)ssl, (__u64)buf, (__u64)readbytes, TLS_READ);
}

SEC("uretprobe/SSL_read_ex")
int BPF_KRETPROBE(ssl_read_ex_ret, int ret) {
    return leave(ret, 1);
}

/* Layout shared by every syscalls/sys_enter_* tracepoint: the common header,
 * the syscall number, then the arguments as 8-byte slots. Using the format
 * rather than pt_regs keeps this independent of the architecture. */
struct sys_enter_ctx {
    __u64 common;
    __s32 nr;
    __u32 pad;
    __u64 args[6];
};

/* read_sock copies the endpoints of the current task's socket fd, walking
 * task->files->fdt->fd[fd]->private_data (struct socket)->sk with CO-RE. It
 * runs while the syscall is entered, so the socket certainly exists; user
 * space looking it up later could miss short-lived connections. */
static __always_inline void read_sock(int fd, struct sock_addrs *sa) {
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
    if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
        return;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *f = NULL;
    if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) < 0 || !f)
        return;
    umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
    if ((mode & 0170000) != 0140000) /* S_IFSOCK */
        return;
    struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
    struct sock *sk = BPF_CORE_READ(sock, sk);
    if (!sk)
        return;
    __u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
    if (family == AF_INET_) {
        __u32 l = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
        __u32 r = BPF_CORE_READ(sk, __sk_common.skc_daddr);
        __builtin_memcpy(sa->laddr, &l, 4);
        __builtin_memcpy(sa->raddr, &r, 4);
    } else if (family == AF_INET6_) {
        BPF_CORE_READ_INTO(&sa->laddr, sk, __sk_common.skc_v6_rcv_saddr);
        BPF_CORE_READ_INTO(&sa->raddr, sk, __sk_common.skc_v6_daddr);
    } else {
        return;
    }
    sa->lport = BPF_CORE_READ(sk, __sk_common.skc_num);
    sa->rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
    sa->family = family;
}

static __always_inline int note_fd(struct sys_enter_ctx *ctx) {
    __u64 id = bpf_get_current_pid_tgid();
    struct ssl_args *a = bpf_map_lookup_elem(&active, &id);
    if (!a || a->fd >= 0)
        return 0;
    a->fd = (__s32)ctx->args[0];
    read_sock(a->fd, &a->sa);
    return 0;
}

SEC("tracepoint/syscalls/sys_enter_write")
int enter_write(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_read")
int enter_read(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int enter_sendto(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_recvfrom")
int enter_recvfrom(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_writev")
int enter_writev(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_readv")
int enter_readv(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int enter_sendmsg(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

SEC("tracepoint/syscalls/sys_enter_recvmsg")
int enter_recvmsg(struct sys_enter_ctx *ctx) {
    return note_fd(ctx);
}

/* A process image was replaced: user space rescans its mappings for TLS
 * libraries that are not probed yet. BTF tracepoint, no tracefs needed. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm) {
    struct exec_event *e = bpf_ringbuf_reserve(&exec_ring, sizeof(*e), 0);
    if (!e) {
        tcount(TSTAT_EXEC_DROP, 1);
        return 0;
    }
    e->pid = BPF_CORE_READ(p, tgid);
    e->pad = 0;
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* ---- Go crypto/tls ----
 *
 * Go programs carry their own TLS, (*crypto/tls.Conn).Write and Read, and
 * call them with Go's register ABI: arguments and results in RAX, RBX, RCX
 * on amd64 and R0, R1, R2 on arm64, the running goroutine's g in R14 / R28.
 * Write's plaintext is complete on entry. Read's is known only on return,
 * and a uretprobe would corrupt a goroutine whose stack moves, so user space
 * places go_tls_read_ret on each RET instruction of Read instead; entry and
 * return meet through the goroutine (its g), which stays the same while its
 * thread may not. The *tls.Conn is the connection key, as SSL* is for
 * OpenSSL, and its socket fd is read from the Conn itself. */

#if defined(__TARGET_ARCH_arm64)
#define GO_ARG1(x) (((struct user_pt_regs *)(x))->regs[0])
#define GO_ARG2(x) (((struct user_pt_regs *)(x))->regs[1])
#define GO_ARG3(x) (((struct user_pt_regs *)(x))->regs[2])
#define GO_G(x) (((struct user_pt_regs *)(x))->regs[28])
#else
#define GO_ARG1(x) ((x)->ax)
#define GO_ARG2(x) ((x)->bx)
#define GO_ARG3(x) ((x)->cx)
#define GO_G(x) ((x)->r14)
#endif

/* Per Go process (key: pid), from user space: the run-time address of the
 * itab that makes a *net.TCPConn a net.Conn, 0 when the binary does not
 * say. */
struct go_proc {
    __u64 tcpconn_itab;
};

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, __u32);
    __type(value, struct go_proc);
} go_procs SEC(".maps");

struct go_read_key {
    __u64 g;
    __u32 pid;
    __u32 pad;
};

struct go_read_args {
    __u64 conn;
    __u64 buf;
};

/* Reads in flight. LRU: a Read that never reaches a RET (a panic) must not
 * hold its entry for ever. */
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct go_read_key);
    __type(value, struct go_read_args);
} go_reads SEC(".maps");

/* go_conn_fd returns the socket fd under a *tls.Conn, or -1. The Conn starts
 * with its net.Conn (an interface: itab, data); when that holds a
 * *net.TCPConn, the data points at a netFD pointer, and the netFD's poll.FD
 * keeps the fd after its 16-byte fdMutex. These layouts have not changed
 * since Go 1.12. Where the itab is known, any other net.Conn (a wrapper, a
 * Unix socket) is refused rather than read as if it were one. */
static __always_inline __s32 go_conn_fd(__u64 conn, __u32 pid) {
    __u64 iface[2];
    if (bpf_probe_read_user(iface, sizeof(iface), (void *)conn) < 0 || !iface[1])
        return -1;
    struct go_proc *p = bpf_map_lookup_elem(&go_procs, &pid);
    if (p && p->tcpconn_itab && p->tcpconn_itab != iface[0])
        return -1;
    __u64 netfd = 0;
    if (bpf_probe_read_user(&netfd, sizeof(netfd), (void *)iface[1]) < 0 || !netfd)
        return -1;
    __s64 sysfd = -1;
    if (bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + 16)) < 0)
        return -1;
    if (sysfd < 0 || sysfd > 0x7fffffff)
        return -1;
    return (__s32)sysfd;
}

static __always_inline int go_emit(__u64 conn, __u64 buf, __u64 n, __u32 dir) {
    __u64 id = bpf_get_current_pid_tgid();
    struct sock_addrs sa = {};
    __s32 fd = go_conn_fd(conn, id >> 32);
    /* The socket's addresses are read once per connection: a call on a
     * connection that already has them for this fd learns nothing new. */
    struct ssl_key ck = {.ssl = conn, .pid = id >> 32};
    struct ssl_conn *known = bpf_map_lookup_elem(&conns, &ck);
    if (known && known->fd == fd && known->sa.family)
        fd = -1;
    else if (fd >= 0)
        read_sock(fd, &sa);
    return emit_call(id, conn, buf, n, dir, fd, &sa);
}

static __always_inline int go_write(struct pt_regs *ctx) {
    return go_emit(GO_ARG1(ctx), GO_ARG2(ctx), GO_ARG3(ctx), TLS_WRITE);
}

static __always_inline int go_read(struct pt_regs *ctx) {
    struct go_read_key k = {.g = GO_G(ctx), .pid = bpf_get_current_pid_tgid() >> 32};
    struct go_read_args a = {.conn = GO_ARG1(ctx), .buf = GO_ARG2(ctx)};
    bpf_map_update_elem(&go_reads, &k, &a, BPF_ANY);
    return 0;
}

static __always_inline int go_read_ret(struct pt_regs *ctx) {
    struct go_read_key k = {.g = GO_G(ctx), .pid = bpf_get_current_pid_tgid() >> 32};
    struct go_read_args *a = bpf_map_lookup_elem(&go_reads, &k);
    if (!a)
        return 0;
    struct go_read_args args = *a;
    bpf_map_delete_elem(&go_reads, &k);
    long n = (long)GO_ARG1(ctx);
    if (n <= 0)
        return 0;
    return go_emit(args.conn, args.buf, (__u64)n, TLS_READ);
}

/* One uprobe per site, for kernels before uprobe_multi links (6.6). */

SEC("uprobe/go_tls_write")
int go_tls_write(struct pt_regs *ctx) {
    return go_write(ctx);
}

SEC("uprobe/go_tls_read")
int go_tls_read(struct pt_regs *ctx) {
    return go_read(ctx);
}

SEC("uprobe/go_tls_read_ret")
int go_tls_read_ret(struct pt_regs *ctx) {
    return go_read_ret(ctx);
}

/* Every site of one binary in one uprobe_multi link, told apart by the
 * cookie user space gives each: removing a link then waits for the kernel's
 * grace period once, not once per site. */
SEC("uprobe.multi")
int go_tls_multi(struct pt_regs *ctx) {
    switch (bpf_get_attach_cookie(ctx)) {
    case GO_SITE_WRITE:
        return go_write(ctx);
    case GO_SITE_READ:
        return go_read(ctx);
    case GO_SITE_READ_RET:
        return go_read_ret(ctx);
    }
    return 0;
}
