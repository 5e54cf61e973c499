//go:build ignore

// capture.c: TCX (or tc clsact) classifier that copies the headers and a
// bounded payload prefix of selected TCP packets into a ring buffer.
//
// Selection happens here so that user space only pays for traffic it parses:
// packets must match the configured ports and CIDRs, and flows whose first
// payload bytes are neither HTTP nor a TLS handshake are remembered in an LRU
// map and skipped (and counted) from then on. The program never drops or
// modifies a packet: it always returns TC_ACT_UNSPEC, which is TCX_NEXT for
// TCX and "continue" for clsact.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "apitap.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define ACT_CONTINUE -1 /* TC_ACT_UNSPEC == TCX_NEXT */

char __license[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct capture_config);
} capture_cfg SEC(".maps");

/* ifindex -> bytes before the IP header (14 for Ethernet, 0 for L3 devices). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u32);
} iface_l2len SEC(".maps");

/* TCP ports (host order) to capture; either end may match. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u16);
    __type(value, __u8);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v4);
    __type(value, __u8);
} cidrs_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 1024);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct lpm_v6);
    __type(value, __u8);
} cidrs_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 65536);
    __type(key, struct flow_key);
    __type(value, struct flow_state);
} flows SEC(".maps");

/* Size is set from user space (Config.RingBytes) before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} pkt_ring SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} capture_stats SEC(".maps");

struct pkt_scratch {
    struct pkt_event hdr;
    __u8 data[PKT_COPY_MAX];
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct pkt_scratch);
} pkt_scratch_map SEC(".maps");

/* Force bpf2go to emit Go types for the shared structs. */
const struct pkt_event *unused_pkt_event __attribute__((unused));
const struct flow_state *unused_flow_state __attribute__((unused));

static __always_inline void count(__u32 idx) {
    __u64 *v = bpf_map_lookup_elem(&capture_stats, &idx);
    if (v)
        *v += 1;
}

static __always_inline int addr_less(const __u8 *a, const __u8 *b) {
#pragma unroll
    for (int i = 0; i < 16; i++) {
        if (a[i] != b[i])
            return a[i] < b[i];
    }
    return 0;
}

/* looks_http reports whether the first payload bytes start an HTTP/1.x
 * request (RFC 9112 section 3: method SP), a response ("HTTP/"), or the h2c
 * prior-knowledge preface ("PRI "). */
static __always_inline int looks_http(const __u8 *p) {
    __u32 w = ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
    switch (w) {
    case 0x47455420: /* "GET " */
    case 0x504f5354: /* "POST" */
    case 0x50555420: /* "PUT " */
    case 0x48454144: /* "HEAD" */
    case 0x44454c45: /* "DELE" */
    case 0x50415443: /* "PATC" */
    case 0x4f505449: /* "OPTI" */
    case 0x434f4e4e: /* "CONN" */
    case 0x54524143: /* "TRAC" */
    case 0x48545450: /* "HTTP" */
    case 0x50524920: /* "PRI " */
        return 1;
    }
    return 0;
}

/* looks_tls: a TLS record of type handshake (22) with major version 3. */
static __always_inline int looks_tls(const __u8 *p) {
    return p[0] == 0x16 && p[1] == 0x03;
}

static __always_inline int handle(struct __sk_buff *skb, __u8 ingress) {
    __u32 zero = 0;
    struct capture_config *cfg = bpf_map_lookup_elem(&capture_cfg, &zero);
    if (!cfg)
        return ACT_CONTINUE;

    __u32 ifindex = skb->ifindex;
    __u32 l2 = 14;
    __u32 *l2p = bpf_map_lookup_elem(&iface_l2len, &ifindex);
    if (l2p)
        l2 = *l2p;
    if (l2 > 64)
        return ACT_CONTINUE;

    struct flow_key key = {};
    __u16 sport, dport;
    __u32 l3_len, l4_off; /* l4_off relative to the IP header */
    __u32 proto = bpf_ntohs(skb->protocol);
    __u32 pkt_len = skb->len;
    if (pkt_len <= l2)
        return ACT_CONTINUE;
    __u32 ip_len = pkt_len - l2;

    if (proto == ETH_P_IP) {
        struct iphdr ip;
        if (bpf_skb_load_bytes(skb, l2, &ip, sizeof(ip)) < 0)
            return ACT_CONTINUE;
        if (ip.protocol != IPPROTO_TCP_)
            return ACT_CONTINUE;
        /* Only the first fragment carries the TCP header. */
        if (bpf_ntohs(ip.frag_off) & 0x1fff)
            return ACT_CONTINUE;
        l4_off = ip.ihl * 4;
        l3_len = bpf_ntohs(ip.tot_len);
        key.lo_addr[10] = 0xff;
        key.lo_addr[11] = 0xff;
        key.hi_addr[10] = 0xff;
        key.hi_addr[11] = 0xff;
        __builtin_memcpy(&key.lo_addr[12], &ip.saddr, 4);
        __builtin_memcpy(&key.hi_addr[12], &ip.daddr, 4);
        if (!cfg->any_addr) {
            struct lpm_v4 k = {.prefixlen = 32};
            __builtin_memcpy(k.addr, &ip.saddr, 4);
            if (!bpf_map_lookup_elem(&cidrs_v4, &k)) {
                __builtin_memcpy(k.addr, &ip.daddr, 4);
                if (!bpf_map_lookup_elem(&cidrs_v4, &k))
                    return ACT_CONTINUE;
            }
        }
    } else if (proto == ETH_P_IPV6) {
        struct ipv6hdr ip6;
        if (bpf_skb_load_bytes(skb, l2, &ip6, sizeof(ip6)) < 0)
            return ACT_CONTINUE;
        /* Extension headers are not walked: TCP directly after IPv6 only. */
        if (ip6.nexthdr != IPPROTO_TCP_)
            return ACT_CONTINUE;
        l4_off = sizeof(ip6);
        l3_len = sizeof(ip6) + bpf_ntohs(ip6.payload_len);
        __builtin_memcpy(key.lo_addr, &ip6.saddr, 16);
        __builtin_memcpy(key.hi_addr, &ip6.daddr, 16);
        if (!cfg->any_addr) {
            struct lpm_v6 k = {.prefixlen = 128};
            __builtin_memcpy(k.addr, &ip6.saddr, 16);
            if (!bpf_map_lookup_elem(&cidrs_v6, &k)) {
                __builtin_memcpy(k.addr, &ip6.daddr, 16);
                if (!bpf_map_lookup_elem(&cidrs_v6, &k))
                    return ACT_CONTINUE;
            }
        }
    } else {
        return ACT_CONTINUE;
    }

    struct tcphdr tcp;
    if (l4_off < 20 || l4_off > 60)
        return ACT_CONTINUE;
    if (bpf_skb_load_bytes(skb, l2 + l4_off, &tcp, sizeof(tcp)) < 0)
        return ACT_CONTINUE;
    count(STAT_SEEN);
    sport = bpf_ntohs(tcp.source);
    dport = bpf_ntohs(tcp.dest);
    if (!cfg->any_port) {
        if (!bpf_map_lookup_elem(&ports, &sport) && !bpf_map_lookup_elem(&ports, &dport))
            return ACT_CONTINUE;
    }
    count(STAT_MATCHED);

    __u32 hdr_len = l4_off + tcp.doff * 4;
    if (l3_len > ip_len)
        l3_len = ip_len; /* truncated or padded frame: trust what is there */
    __u32 payload = l3_len > hdr_len ? l3_len - hdr_len : 0;

    /* Order the endpoints so both directions map to one flow entry. */
    if (addr_less(key.hi_addr, key.lo_addr) ||
        (!addr_less(key.lo_addr, key.hi_addr) && dport < sport)) {
        __u8 tmp[16];
        __builtin_memcpy(tmp, key.lo_addr, 16);
        __builtin_memcpy(key.lo_addr, key.hi_addr, 16);
        __builtin_memcpy(key.hi_addr, tmp, 16);
        key.lo_port = dport;
        key.hi_port = sport;
    } else {
        key.lo_port = sport;
        key.hi_port = dport;
    }

    struct flow_state *st = bpf_map_lookup_elem(&flows, &key);
    if (st) {
        if (st->verdict == VERDICT_OTHER) {
            __sync_fetch_and_add(&st->skipped, 1);
            count(STAT_SKIP_NONHTTP);
            return ACT_CONTINUE;
        }
        if (st->verdict == VERDICT_TLS && payload > 0) {
            st->payload_pkts++;
            if (st->payload_pkts > cfg->tls_packets) {
                __sync_fetch_and_add(&st->skipped, 1);
                count(STAT_SKIP_NONHTTP);
                return ACT_CONTINUE;
            }
        }
    } else if (payload >= 4) {
        __u8 first[4];
        if (bpf_skb_load_bytes(skb, l2 + hdr_len, first, sizeof(first)) < 0)
            return ACT_CONTINUE;
        struct flow_state ns = {.payload_pkts = 1};
        if (looks_http(first)) {
            ns.verdict = VERDICT_HTTP;
            count(STAT_FLOWS_HTTP);
        } else if (looks_tls(first)) {
            ns.verdict = VERDICT_TLS;
            count(STAT_FLOWS_TLS);
        } else {
            ns.verdict = VERDICT_OTHER;
            ns.skipped = 1;
            count(STAT_FLOWS_OTHER);
        }
        bpf_map_update_elem(&flows, &key, &ns, BPF_ANY);
        if (ns.verdict == VERDICT_OTHER) {
            count(STAT_SKIP_NONHTTP);
            return ACT_CONTINUE;
        }
    }

    struct pkt_scratch *sc = bpf_map_lookup_elem(&pkt_scratch_map, &zero);
    if (!sc)
        return ACT_CONTINUE;

    __u32 want = payload;
    __u32 pmax = cfg->payload_max;
    if (pmax > PAYLOAD_MAX)
        pmax = PAYLOAD_MAX;
    if (want > pmax) {
        want = pmax;
        count(STAT_TRUNCATED);
    }
    /* 64-bit on purpose: with a 32-bit length clang checks a zero-extended
     * copy of the register and the verifier loses the bounds on the one
     * passed to the helper. */
    __u64 copy = (__u64)hdr_len + want;
    if (copy > (__u64)l3_len)
        copy = l3_len;
    if (copy < 1)
        return ACT_CONTINUE;
    if (copy > PKT_COPY_MAX)
        return ACT_CONTINUE;
    if (bpf_skb_load_bytes(skb, l2, sc->data, copy) < 0)
        return ACT_CONTINUE;

    sc->hdr.ts_boot_ns = bpf_ktime_get_boot_ns();
    sc->hdr.ifindex = ifindex;
    sc->hdr.wire_len = l3_len;
    sc->hdr.cap_len = copy;
    sc->hdr.ingress = ingress;
    __u64 wake = 0;
    if (cfg->wakeup_bytes) {
        wake = BPF_RB_NO_WAKEUP;
        if (bpf_ringbuf_query(&pkt_ring, BPF_RB_AVAIL_DATA) >= cfg->wakeup_bytes)
            wake = BPF_RB_FORCE_WAKEUP; /* a reader asleep would not be woken otherwise */
    }
    if (bpf_ringbuf_output(&pkt_ring, sc, sizeof(sc->hdr) + copy, wake) < 0) {
        count(STAT_RING_DROP);
        return ACT_CONTINUE;
    }
    count(STAT_EMITTED);
    return ACT_CONTINUE;
}

SEC("tc")
int capture_ingress(struct __sk_buff *skb) {
    return handle(skb, 1);
}

SEC("tc")
int capture_egress(struct __sk_buff *skb) {
    return handle(skb, 0);
}
