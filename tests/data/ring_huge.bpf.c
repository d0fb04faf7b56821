// Test program: every getppid() of the target sends one record of 1.5 MiB,
// larger than the window ecli maps of a ring at a time, into a 4 MiB ring
// buffer; `check` at its end is derived from `seq`.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct huge {
    __u64 seq;
    char pad[1536 * 1024];
    __u64 check;
};

const volatile pid_t target = 0;
__u64 next_seq;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int send_huge(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    struct huge *h = bpf_ringbuf_reserve(&events, sizeof(*h), 0);
    if (!h)
        return 0;
    __u64 seq = next_seq++;
    h->seq = seq;
    h->check = seq * 0x9E3779B97F4A7C15ULL;
    bpf_ringbuf_submit(h, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
