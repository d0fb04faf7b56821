// SPDX-License-Identifier: GPL-2.0
/* libbpf-tools' tcpconnect as a kernel half alone, with no annotations: every
 * outgoing TCP connection (IPv4 and IPv6), with the process that made it,
 * from the tracepoint sock/inet_sock_set_state, so it runs where kprobes do
 * not. ecli prints each event as it comes, addresses and ports readably
 * without being told: `saddr` and `daddr` are 16-byte `*addr*` fields in a
 * struct with an `af` field, so each prints as IPv4 or IPv6 as `af` says
 * (one column for both), and the ports are `__be16`.
 *
 * A connect() moves the socket to SYN_SENT in the calling process, before the
 * kernel picks the source port; the socket leaves SYN_SENT when the handshake
 * ends (ESTABLISHED) or fails (CLOSE), often in an interrupt. So the process
 * is noted at SYN_SENT in `pending` (state, deleted from: not printed) and the
 * event is sent when the socket leaves SYN_SENT, with both ports known. */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TASK_COMM_LEN 16
#define AF_INET 2
#define AF_INET6 10

enum connect_result {
    CONNECT_OK,     /* the handshake completed */
    CONNECT_FAILED, /* refused, reset, timed out or unreachable */
};

struct event {
    __u32 pid;
    __u32 uid;
    char comm[TASK_COMM_LEN];
    __u16 af;
    __be16 sport;
    __be16 dport;
    /* IPv4: the first 4 bytes (network order); IPv6: all 16 */
    __u8 saddr[16];
    __u8 daddr[16];
    enum connect_result result;
};

struct who {
    __u32 pid;
    __u32 uid;
    char comm[TASK_COMM_LEN];
};

/* Options: */
const volatile pid_t targ_tgid = 0;  /* only this process (0: every one) */
const volatile __u16 targ_dport = 0; /* only this destination port (0: every one) */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, const void *);
    __type(value, struct who);
} pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int handle_set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
    const void *sk = ctx->skaddr;
    struct event *e;
    struct who *w;

    if (ctx->protocol != IPPROTO_TCP)
        return 0;
    if (ctx->family != AF_INET && ctx->family != AF_INET6)
        return 0;

    if (ctx->newstate == TCP_SYN_SENT) {
        __u64 id = bpf_get_current_pid_tgid();
        struct who who = {};

        if (targ_tgid && (id >> 32) != targ_tgid)
            return 0;
        if (targ_dport && ctx->dport != targ_dport)
            return 0;
        who.pid = id >> 32;
        who.uid = (__u32)bpf_get_current_uid_gid();
        bpf_get_current_comm(who.comm, sizeof(who.comm));
        bpf_map_update_elem(&pending, &sk, &who, BPF_ANY);
        return 0;
    }
    if (ctx->oldstate != TCP_SYN_SENT)
        return 0;

    w = bpf_map_lookup_elem(&pending, &sk);
    if (!w)
        return 0;
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (e) {
        __builtin_memset(e, 0, sizeof(*e));
        e->pid = w->pid;
        e->uid = w->uid;
        __builtin_memcpy(e->comm, w->comm, sizeof(e->comm));
        e->af = ctx->family;
        e->sport = bpf_htons(ctx->sport);
        e->dport = bpf_htons(ctx->dport);
        if (ctx->family == AF_INET) {
            bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
            bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
        } else {
            bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
            bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
        }
        e->result = ctx->newstate == TCP_ESTABLISHED ? CONNECT_OK : CONNECT_FAILED;
        bpf_ringbuf_submit(e, 0);
    }
    bpf_map_delete_elem(&pending, &sk);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
