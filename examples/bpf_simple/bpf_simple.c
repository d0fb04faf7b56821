/* Seed 000: a tracepoint on execve that prints the caller's name with
 * bpf_trace_printk. Built with the plain line, no -g, so the object has no BTF:
 *
 *   clang -O2 -target bpf -c bpf_simple.c -o bpf_simple.o
 *
 * It includes no headers, so it needs nothing but clang. */
#define SEC(name) __attribute__((section(name), used))

typedef unsigned int __u32;

/* Helper ids from the kernel's enum bpf_func_id. */
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
static long (*bpf_get_current_comm)(void *buf, __u32 size_of_buf) = (void *)16;

SEC("tracepoint/syscalls/sys_enter_execve")
int bpf_prog(void *ctx)
{
    char comm[16];
    char fmt[] = "execve: %s\n";

    bpf_get_current_comm(comm, sizeof(comm));
    bpf_trace_printk(fmt, sizeof(fmt), comm);
    return 0;
}

char _license[] SEC("license") = "GPL";
