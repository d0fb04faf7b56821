// SPDX-License-Identifier: GPL-2.0
/* Packets and bytes per IP protocol arriving on an interface, counted by XDP
 * and printed every second as a table (from @sample). The interface is lo
 * unless `ecli run --ifname NAME` says otherwise. */
#include <vmlinux.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

enum ip_protocol { HOPOPT = 0, ICMP = 1, IGMP = 2, TCP = 6, UDP = 17, GRE = 47, ESP = 50, ICMPV6 = 58, SCTP = 132 };

struct protocol {
    enum ip_protocol protocol;
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

/// @sample {"interval": 1000, "type": "default_kv", "sort_by": "packets"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct protocol);
    __type(value, struct counters);
} protocols SEC(".maps");

/// @ifindex 1
SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    struct protocol key = {};
    struct counters *c, zero = {};

    if ((void *)(eth + 1) > data_end)
        return XDP_PASS;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end)
            return XDP_PASS;
        key.protocol = ip->protocol;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end)
            return XDP_PASS;
        key.protocol = ip6->nexthdr;
    } else {
        return XDP_PASS;
    }
    c = bpf_map_lookup_elem(&protocols, &key);
    if (!c) {
        bpf_map_update_elem(&protocols, &key, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&protocols, &key);
        if (!c)
            return XDP_PASS;
    }
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, data_end - data);
    return XDP_PASS;
}

/// @brief Count packets and bytes per IP protocol with XDP
char LICENSE[] SEC("license") = "GPL";
