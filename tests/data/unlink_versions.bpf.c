// Test program in the libbpf-tools style: several versions of one hook, and
// user space (here: ecli) keeps the one this kernel runs. Each version says
// which it is, so a test sees that exactly one of them fired.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define NAME_LEN 64

struct event {
    pid_t pid;
    char how[16];
    char fname[NAME_LEN];
};

const volatile pid_t targ_pid = 0;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline int emit(const char *how, const char *fname)
{
    pid_t pid = bpf_get_current_pid_tgid() >> 32;
    struct event *e;

    if (targ_pid && pid != targ_pid)
        return 0;
    e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    e->pid = pid;
    __builtin_memcpy(e->how, how, sizeof(e->how));
    bpf_probe_read_user_str(e->fname, sizeof(e->fname), fname);
    bpf_ringbuf_submit(e, 0);
    return 0;
}

/* Version 1: a BPF trampoline on the syscall's entry point (fastest). */
SEC("fentry/__x64_sys_unlinkat")
int BPF_PROG(unlinkat_fentry, struct pt_regs *regs)
{
    return emit("fentry", (const char *)PT_REGS_PARM2_CORE(regs));
}

/* Version 2: a kprobe on the same syscall. */
SEC("ksyscall/unlinkat")
int BPF_KSYSCALL(unlinkat_ksyscall, int dfd, const char *pathname)
{
    return emit("ksyscall", pathname);
}

/* Version 3: the syscall tracepoint. */
SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlinkat_tp(struct trace_event_raw_sys_enter *ctx)
{
    return emit("tracepoint", (const char *)ctx->args[1]);
}

char LICENSE[] SEC("license") = "GPL";
