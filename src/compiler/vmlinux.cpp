#include "compiler/vmlinux.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <memory>

#include "btf/kernel_id.hpp"
#include "compiler/executables.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

extern char** environ;

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

// Without bpftool: libbpf's dumper in the frame bpftool puts around it (no kfuncs).
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
  // CO-RE relocations are recorded for every struct the program touches.
  return "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
         "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
         "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n" +
         body +
         "\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
         "#endif /* __VMLINUX_H__ */\n";
}

// `bpftool btf dump file BTF format c` into `out`. bpftool 7.4+ also declares
// the kernel's kfuncs (guarded by BPF_NO_KFUNC_PROTOTYPES), as programs
// written against its vmlinux.h expect. False when it fails.
bool dump_with_bpftool(const std::filesystem::path& bpftool, const std::string& btf_path,
                       const std::filesystem::path& out) {
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {bpftool.string(), "btf", "dump", "file", btf_path, "format", "c"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &files, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  if (rc != 0) return false;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return false;
  // A dump cut short (a killed bpftool, a full disk) must not be cached.
  std::string text = read_file(out);
  return text.find("#endif /* __VMLINUX_H__ */") != std::string::npos;
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
  // Keyed by the generator too: a header from before bpftool was installed
  // (or from an older ecc) lacks the kfunc prototypes.
  std::filesystem::path bpftool = find_executable("bpftool", {"/usr/sbin", "/sbin", "/usr/local/sbin"});
  std::string generator = bpftool.empty() ? "libbpf btf_dump" : "bpftool " + file_identity(bpftool);
  std::filesystem::path headers = cache_dir() / "vmlinux";
  // "vmlinux.h.tmp.<pid>" and "vmlinux-<key>.pch.tmp.<pid>" of runs killed
  // with -9, beside the header of any kernel (one folder each, few of them).
  std::error_code list_ec, type_ec;
  for (const auto& entry : std::filesystem::directory_iterator(headers, list_ec))
    if (entry.is_directory(type_ec)) remove_stale_temporaries(entry.path());
  out.dir = headers / Hasher().add(out.key).add(generator).hex();
  out.header = out.dir / "vmlinux.h";
  if (std::filesystem::exists(out.header)) return out;
  std::filesystem::create_directories(out.dir);
  std::filesystem::path tmp = out.header;
  tmp += ".tmp." + std::to_string(getpid());
  if (!bpftool.empty() && dump_with_bpftool(bpftool, btf_path, tmp)) {
    std::filesystem::rename(tmp, out.header);
    return out;
  }
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  write_file_atomic(out.header, dump_header(btf_path));
  return out;
}

}  // namespace ecli::compiler
