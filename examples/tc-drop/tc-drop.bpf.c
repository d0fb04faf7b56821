// SPDX-License-Identifier: GPL-2.0
/* Drop outgoing UDP and TCP packets to one destination port, on tc egress.
 * The port is an option (`--port 9999`); what was dropped and passed is
 * printed every second from @sample. */
#include <vmlinux.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

/// Destination port to drop (0: drop nothing)
const volatile __u16 port = 0;

enum verdict { PASSED = 0, DROPPED = 1 };

struct verdict_key {
    enum verdict verdict;
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH); /* an array's BTF key must be a plain int */
    __uint(max_entries, 2);
    __type(key, struct verdict_key);
    __type(value, struct counters);
} verdicts SEC(".maps");

static int count(enum verdict v, struct __sk_buff *skb)
{
    struct verdict_key key = {.verdict = v};
    struct counters *c = bpf_map_lookup_elem(&verdicts, &key), zero = {};

    if (!c) {
        bpf_map_update_elem(&verdicts, &key, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&verdicts, &key);
    }
    if (c) {
        __sync_fetch_and_add(&c->packets, 1);
        __sync_fetch_and_add(&c->bytes, skb->len);
    }
    return v == DROPPED ? TC_ACT_SHOT : TC_ACT_OK;
}

/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_EGRESS"}
SEC("tc")
int drop_port(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip;
    __u16 dest;

    if (!port || (void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
        return count(PASSED, skb);
    ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return count(PASSED, skb);
    if (ip->protocol == IPPROTO_UDP) {
        struct udphdr *udp = (void *)ip + ip->ihl * 4;
        if ((void *)(udp + 1) > data_end)
            return count(PASSED, skb);
        dest = udp->dest;
    } else if (ip->protocol == IPPROTO_TCP) {
        struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
        if ((void *)(tcp + 1) > data_end)
            return count(PASSED, skb);
        dest = tcp->dest;
    } else {
        return count(PASSED, skb);
    }
    return count(bpf_ntohs(dest) == port ? DROPPED : PASSED, skb);
}

/// @brief Drop outgoing TCP and UDP packets to one port (--port)
char LICENSE[] SEC("license") = "GPL";
