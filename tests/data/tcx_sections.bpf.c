// Test program: tc section names newer than libbpf 1.1.
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>

SEC("tcx/ingress")
int tcx_in(struct __sk_buff *skb) { return 0; }

SEC("tc/egress")
int tc_out(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "GPL";
