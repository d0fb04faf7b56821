#pragma once
#include <string>

namespace ecli::btf {

// A cheap identity of the running kernel's BTF: its build id (/sys/kernel/notes,
// a few bytes) and the size of /sys/kernel/btf/vmlinux. Empty when unknown.
std::string running_kernel_id();

}  // namespace ecli::btf
