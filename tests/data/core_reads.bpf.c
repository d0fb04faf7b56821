// Test program in the style of libbpf-tools' process tools (execsnoop,
// runqslower, biotop): CO-RE reads through task_struct pointers, a flavour
// for a renamed field, field and type existence checks, an enum value and a
// type size. No annotations, no user space. Its first run on a kernel
// relocates against the kernel BTF cut to these types (btf/core_subset.hpp),
// and must read what the full BTF reads.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

// Before 5.14 the field was `long state`.
struct task_struct___pre_5_14 {
    long state;
} __attribute__((preserve_access_index));

struct event {
    __u32 pid;
    __u32 ppid;
    __u32 parent_of_parent;
    __u32 state;
    __u64 start_time;
    __u64 mm_size;
    __u32 ringbuf_type;
    __u32 has_real_parent;
    char comm[16];
    char parent_comm[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = BPF_CORE_READ(task, tgid);
    e->ppid = BPF_CORE_READ(task, real_parent, tgid);
    e->parent_of_parent = BPF_CORE_READ(task, real_parent, real_parent, tgid);
    if (bpf_core_field_exists(task->__state))
        e->state = BPF_CORE_READ(task, __state);
    else
        e->state = BPF_CORE_READ((struct task_struct___pre_5_14 *)task, state);
    e->start_time = BPF_CORE_READ(task, start_time);
    e->mm_size = bpf_core_type_size(struct mm_struct);
    e->ringbuf_type = bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF);
    e->has_real_parent = bpf_core_type_exists(struct task_struct) && bpf_core_field_exists(task->real_parent);
    BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
    BPF_CORE_READ_STR_INTO(&e->parent_comm, task, real_parent, comm);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
