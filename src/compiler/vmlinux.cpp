#include "compiler/vmlinux.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <memory>

#include "btf/kernel_id.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

namespace ecli::compiler {
namespace {

void print_to_string(void* ctx, const char* fmt, va_list args) {
  auto* out = static_cast<std::string*>(ctx);
  char buf[1024];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  if (n >= 0 && static_cast<size_t>(n) < sizeof buf) {
    out->append(buf, static_cast<size_t>(n));
  } else if (n > 0) {
    std::string big(static_cast<size_t>(n) + 1, '\0');
    vsnprintf(big.data(), big.size(), fmt, copy);
    big.resize(static_cast<size_t>(n));
    out->append(big);
  }
  va_end(copy);
}

std::string dump_header(const std::string& btf_path) {
  std::unique_ptr<struct btf, decltype(&btf__free)> btf(btf__parse(btf_path.c_str(), nullptr), btf__free);
  if (libbpf_get_error(btf.get())) {
    int err = static_cast<int>(libbpf_get_error(btf.get()));
    btf.release();
    throw Error("cannot read BTF from " + btf_path + ": " + errno_text(err));
  }
  std::string body;
  std::unique_ptr<btf_dump, decltype(&btf_dump__free)> dump(
      btf_dump__new(btf.get(), print_to_string, &body, nullptr), btf_dump__free);
  if (libbpf_get_error(dump.get())) {
    dump.release();
    throw Error("cannot create a BTF dumper for " + btf_path);
  }
  uint32_t count = btf__type_cnt(btf.get());
  for (uint32_t id = 1; id < count; id++) {
    if (int err = btf_dump__dump_type(dump.get(), id); err)
      throw Error("cannot dump BTF type " + std::to_string(id) + " of " + btf_path + ": " + errno_text(err));
  }
  // The same frame bpftool puts around it, so CO-RE relocations are recorded.
  return "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
         "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
         "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n" +
         body +
         "\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
         "#endif /* __VMLINUX_H__ */\n";
}

// The running kernel is identified cheaply (build id and BTF size); a BTF file by its content.
std::string btf_key(const std::string& btf_path, bool running_kernel) {
  if (running_kernel)
    if (std::string id = btf::running_kernel_id(); !id.empty()) return id;
  return Hasher().add(read_file(btf_path)).hex();
}

}  // namespace

VmlinuxHeader provide_vmlinux_header(const std::string& btf_path_arg) {
  std::string btf_path = btf_path_arg.empty() ? "/sys/kernel/btf/vmlinux" : btf_path_arg;
  VmlinuxHeader out;
  try {
    out.key = btf_key(btf_path, btf_path_arg.empty());
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (vmlinux.h is generated from kernel BTF; pass a BTF file with --btf)");
  }
  out.dir = cache_dir() / "vmlinux" / out.key;
  out.header = out.dir / "vmlinux.h";
  if (std::filesystem::exists(out.header)) return out;
  std::filesystem::create_directories(out.dir);
  write_file_atomic(out.header, dump_header(btf_path));
  return out;
}

}  // namespace ecli::compiler
