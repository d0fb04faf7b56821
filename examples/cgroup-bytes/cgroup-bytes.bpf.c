// SPDX-License-Identifier: GPL-2.0
/* Bytes and packets in and out of the processes of a cgroup (cgroup_skb),
 * printed every second. `ecli run --cgroup /sys/fs/cgroup/PATH` chooses the
 * cgroup; the default is the root, i.e. the whole machine. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

enum direction { INGRESS = 0, EGRESS = 1 };

struct direction_key {
    enum direction direction;
};

struct counters {
    __u64 packets;
    __u64 bytes;
};

/// @sample {"interval": 1000, "type": "default_kv"}
struct {
    __uint(type, BPF_MAP_TYPE_HASH); /* an array's BTF key must be a plain int */
    __uint(max_entries, 2);
    __type(key, struct direction_key);
    __type(value, struct counters);
} traffic SEC(".maps");

static int count(enum direction d, struct __sk_buff *skb)
{
    struct direction_key key = {.direction = d};
    struct counters *c = bpf_map_lookup_elem(&traffic, &key), zero = {};

    if (!c) {
        bpf_map_update_elem(&traffic, &key, &zero, BPF_NOEXIST);
        c = bpf_map_lookup_elem(&traffic, &key);
    }
    if (c) {
        __sync_fetch_and_add(&c->packets, 1);
        __sync_fetch_and_add(&c->bytes, skb->len);
    }
    return 1; /* allow */
}

SEC("cgroup_skb/ingress")
int count_ingress(struct __sk_buff *skb)
{
    return count(INGRESS, skb);
}

SEC("cgroup_skb/egress")
int count_egress(struct __sk_buff *skb)
{
    return count(EGRESS, skb);
}

/// @brief Count the bytes a cgroup's processes send and receive
char LICENSE[] SEC("license") = "GPL";
