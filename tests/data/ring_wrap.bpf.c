// Test program: every getppid() of the target sends 64 records of 1000 bytes
// (1008 with the ring's header, which does not divide the ring's size) into a
// 4 MiB ring buffer, so the records run round the ring many times and some
// cross its end. `check` is derived from `seq` and sits at the record's end:
// a reader that maps the wrong bytes prints a wrong pair.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

struct record {
    __u64 seq;
    char pad[984];
    __u64 check;
};

const volatile pid_t target = 0;
__u64 next_seq;
__u64 dropped;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int send_records(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    for (int i = 0; i < 64; i++) {
        struct record *r = bpf_ringbuf_reserve(&events, sizeof(*r), 0);
        if (!r) {
            __sync_fetch_and_add(&dropped, 1);
            continue;
        }
        __u64 seq = next_seq++;
        r->seq = seq;
        r->check = seq * 0x9E3779B97F4A7C15ULL;
        bpf_ringbuf_submit(r, 0);
    }
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
