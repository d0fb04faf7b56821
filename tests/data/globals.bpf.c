// Test program: every kind of global becomes an option; the program prints
// the values it sees so that the test can check they arrived with the right
// width and sign.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

enum color { RED = 1, GREEN = 2, BLUE = 40 };

/// Process to report (the test's trigger)
const volatile pid_t target = 0;
const volatile __u8 small = 0;
const volatile __s16 medium = 0;
const volatile u64 big = 0;
const volatile unsigned long ul = 0;
const volatile uid_t user = 0;
const volatile bool flag = false;
const volatile enum color color = RED;
const volatile char name[8] = "none";
/// A value in .data
/// that spans two lines
int data_value = 7;
/// A value in .bss
__u32 bss_value;
/// @cmdarg {"default": 42, "short": "n", "long": "number", "help": "a number with a default"}
const volatile int with_default = 0;

/// @brief Show the globals the command line set
/// @version 2.5
char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_getppid")
int show(void *ctx)
{
    if ((bpf_get_current_pid_tgid() >> 32) != target)
        return 0;
    bpf_printk("small=%u medium=%d big=%llu", small, medium, big);
    bpf_printk("ul=%lu user=%u flag=%d", ul, user, flag);
    bpf_printk("color=%d name=%s data=%d", color, name, data_value);
    bpf_printk("bss=%u default=%d", bss_value, with_default);
    return 0;
}
