/* Structures and constants shared by the apitap eBPF programs and, through
 * bpf2go -type, by the Go loader in sensor/ebpf. Layouts are explicit (fixed
 * width fields, padding spelled out) so both sides agree without guessing. */
#ifndef APITAP_H
#define APITAP_H

#if defined(__TARGET_ARCH_arm64)
/* vmlinux.h is generated on x86, which lacks arm64's user_pt_regs; the uprobe
 * argument macros of bpf_tracing.h read it. Its layout is uapi
 * (arch/arm64/include/uapi/asm/ptrace.h) and therefore stable. */
struct user_pt_regs {
    __u64 regs[31];
    __u64 sp;
    __u64 pc;
    __u64 pstate;
};
#endif

/* Largest payload prefix a packet record can carry; the configured prefix is
 * clamped to it. Headers get their own room on top (IPv6 + TCP options). */
#define PAYLOAD_MAX 4096
#define HDR_ROOM 128
#define PKT_COPY_MAX (PAYLOAD_MAX + HDR_ROOM)

/* Largest piece of TLS plaintext per ring record, and how many pieces one
 * SSL_read/SSL_write call may be split into before the rest is counted lost. */
#define TLS_PART_MAX 4096
#define TLS_PARTS_MAX 32

/* Plaintext that waits in the ring before the reader is woken; below it,
 * the reader finds records on its next poll (tlsPoll in sensor/ebpf). */
#define TLS_WAKEUP_BYTES (64 << 10)

/* Packet record header; the copied bytes (from the IP header on) follow. */
struct pkt_event {
    __u64 ts_boot_ns; /* bpf_ktime_get_boot_ns at capture */
    __u32 ifindex;
    __u32 wire_len;   /* length of the packet from the IP header on */
    __u16 cap_len;    /* bytes that follow this header */
    __u8 ingress;     /* 1 ingress, 0 egress */
    __u8 pad[5];
};

/* Counters in the per-CPU stats array (index = enum value). */
enum stat_idx {
    STAT_SEEN = 0,     /* TCP packets that reached the program */
    STAT_MATCHED,      /* passed the port/CIDR filter */
    STAT_EMITTED,      /* written to the ring */
    STAT_RING_DROP,    /* ring full: record lost */
    STAT_SKIP_NONHTTP, /* skipped because the flow's verdict is not HTTP */
    STAT_TRUNCATED,    /* payload longer than the configured prefix */
    STAT_FLOWS_HTTP,   /* flows classified HTTP */
    STAT_FLOWS_TLS,    /* flows classified TLS (handshake kept) */
    STAT_FLOWS_OTHER,  /* flows classified other and skipped from then on */
    STAT_MAX,
};

/* Verdicts in the flow map. */
enum flow_verdict {
    VERDICT_HTTP = 1,
    VERDICT_TLS = 2,
    VERDICT_OTHER = 3,
};

/* Configuration written by user space before attaching (array map, key 0). */
struct capture_config {
    __u32 payload_max;   /* payload prefix copied per packet, <= PAYLOAD_MAX */
    __u32 tls_packets;   /* payload packets kept per TLS flow (handshake) */
    __u8 any_port;       /* 1: no port filter */
    __u8 any_addr;       /* 1: no CIDR filter */
    __u8 pad[2];
    /* Records are written without waking the reader until this many bytes
     * wait in the ring (user space polls on a short timer meanwhile): one
     * wakeup per record costs more than the record. 0: the kernel's
     * default, a wakeup whenever the reader has caught up. */
    __u32 wakeup_bytes;
};

/* Flow key: addresses and ports ordered so both directions share a key. IPv4
 * addresses are stored as IPv4-mapped IPv6. */
struct flow_key {
    __u8 lo_addr[16];
    __u8 hi_addr[16];
    __u16 lo_port;
    __u16 hi_port;
    __u32 pad;
};

struct flow_state {
    __u32 verdict;
    __u32 payload_pkts; /* payload packets seen so far */
    __u64 skipped;      /* packets skipped after the verdict */
};

/* LPM trie keys for the CIDR filter. */
struct lpm_v4 {
    __u32 prefixlen;
    __u8 addr[4];
};
struct lpm_v6 {
    __u32 prefixlen;
    __u8 addr[16];
};

/* ---- TLS plaintext ---- */

/* Direction of a TLS chunk: this process wrote it or read it. */
enum tls_dir {
    TLS_WRITE = 1,
    TLS_READ = 2,
};

/* One piece of plaintext; data[len] follows the header in the ring. */
struct tls_event {
    __u64 ts_boot_ns;
    __u64 cgroup_id;
    __u64 ssl;       /* SSL* of the connection, the per-process conn key */
    __u64 call_seq;  /* per-CPU-unique id of the SSL call this piece belongs to */
    __u32 pid;
    __u32 tid;
    __s32 fd;        /* socket fd, -1 when not known yet */
    __u32 total_len; /* bytes the call moved */
    __u32 offset;    /* offset of this piece within the call */
    __u32 len;       /* bytes of data following */
    __u32 lost;      /* bytes of this connection and dir lost before this call */
    __u8 dir;
    __u8 last;       /* 1 on the call's final piece */
    __u8 pad[2];
    char comm[16];
    /* Socket endpoints read in the kernel from the fd's struct sock (so
     * short-lived connections resolve too); family 0 when unknown. IPv4
     * addresses fill the first 4 bytes. Ports in host order. */
    __u8 laddr[16];
    __u8 raddr[16];
    __u16 lport;
    __u16 rport;
    __u8 family;
    __u8 pad2[3];
};

/* Cookies of the go_tls_multi attach points (bpf/tls.c). */
enum go_site {
    GO_SITE_WRITE = 1,    /* entry of (*crypto/tls.Conn).Write */
    GO_SITE_READ = 2,     /* entry of (*crypto/tls.Conn).Read */
    GO_SITE_READ_RET = 3, /* a return instruction of Read */
};

/* Process exec notice, so user space can look for new TLS libraries. */
struct exec_event {
    __u32 pid;
    __u32 pad;
};

enum tls_stat_idx {
    TSTAT_CALLS = 0,  /* SSL calls that returned data */
    TSTAT_PARTS,      /* records written */
    TSTAT_RING_DROP,  /* records lost to a full ring */
    TSTAT_LOST_BYTES, /* plaintext bytes lost (ring full or over TLS_PARTS_MAX) */
    TSTAT_NO_FD,      /* calls whose socket fd was never seen */
    TSTAT_EXEC_DROP,  /* exec notices lost */
    TSTAT_MAX,
};

#endif
