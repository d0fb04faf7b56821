#pragma once
// vmlinux.h from kernel BTF as bpftool writes it (with the kernel's kfunc
// prototypes), else through libbpf's BTF dumper; cached by the BTF's identity
// and the generator so that only the first compile on a kernel pays for it.
#include <filesystem>
#include <string>

namespace ecli::compiler {

struct VmlinuxHeader {
  std::filesystem::path dir;     // holds vmlinux.h
  std::filesystem::path header;  // dir / "vmlinux.h"
  std::string key;               // identity of the BTF it came from
};

// `btf_path` empty means /sys/kernel/btf/vmlinux.
VmlinuxHeader provide_vmlinux_header(const std::string& btf_path);

}  // namespace ecli::compiler
