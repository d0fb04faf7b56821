// Test program: two event maps with different types, both fed on getppid().
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 1, GREEN = 2 };

struct first_event {
    pid_t pid;
    char comm[16];
};

struct second_event {
    __u64 big;
    bool flag;
    enum color color;
    short negative;
    unsigned char bytes[3];
};

/// Process to report
const volatile pid_t target = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 64 * 1024);
} ring_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
    __uint(key_size, sizeof(u32));
    __uint(value_size, sizeof(u32));
} perf_events SEC(".maps");

SEC("tp/syscalls/sys_enter_getppid")
int both(void *ctx)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    struct second_event second = {.big = 18446744073709551615ULL, .flag = true, .color = GREEN,
                                  .negative = -7, .bytes = {1, 2, 250}};
    struct first_event *first;

    if (pid != target)
        return 0;
    first = bpf_ringbuf_reserve(&ring_events, sizeof(*first), 0);
    if (first) {
        first->pid = pid;
        bpf_get_current_comm(first->comm, sizeof(first->comm));
        bpf_ringbuf_submit(first, 0);
    }
    bpf_perf_event_output(ctx, &perf_events, BPF_F_CURRENT_CPU, &second, sizeof(second));
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
