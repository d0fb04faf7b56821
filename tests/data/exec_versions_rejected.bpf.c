// exec_versions with a tp_btf version that the verifier rejects: the raw_tp
// version must take its place.
#define REJECT_TP_BTF 1
#include "exec_versions.bpf.c"
