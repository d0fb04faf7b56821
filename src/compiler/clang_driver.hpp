#pragma once
// Running clang on BPF C: which clang, the flags every compile needs, and a
// precompiled header for the generated vmlinux.h (480 ms -> 60 ms per compile,
// DESIGN.md §7).
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/subprocess.hpp"

namespace ecli::compiler {

struct Clang {
  std::string command;   // what is run: "clang-19", "/opt/llvm/bin/clang"
  std::string identity;  // resolved path, mtime and size (keys its PCHs); empty when not found
  int major = 0;         // 19 for clang 19.1.7; 0 when unknown
};

// The clang `command` names, with its version (asked once per build of clang, then cached).
Clang describe_clang(const std::string& command);

// --clang, else $CLANG, else `embedded` (ecc-clang, when given), else the
// newest versioned clang on PATH (clang-19 before clang 14's plain `clang`),
// else "clang".
Clang choose_clang(const std::string& requested, const std::string& embedded = {});

// "-mcpu=vN" for the newest BPF instruction set that both clang and the kernel
// of `kernel_release` ("6.18.44-...") support; empty keeps clang's default.
std::string bpf_cpu_flag(int clang_major, std::string_view kernel_release);

// "-D__TARGET_ARCH_x86" and friends for the machine we run on.
std::string target_arch_define();

// Flags shared by the PCH, the compile and the docs-only parse: target, CPU
// (unless the extras choose one), arch, include paths (vmlinux.h folder,
// multiarch system headers) and extras. The source's own folder is not here
// so that one PCH serves every source.
std::vector<std::string> bpf_cflags(const Clang& clang, const std::filesystem::path& vmlinux_dir,
                                    const std::vector<std::string>& extra_flags);

// A PCH of `header` built by `clang` with `cflags`, cached beside it (one per
// clang build and flags); empty path when building it failed (compiles then
// go without it).
std::filesystem::path provide_pch(const Clang& clang, const std::filesystem::path& header,
                                  const std::vector<std::string>& cflags);

// A PCH of `prefix` (#include lines, includes.hpp leading_system_includes)
// written as a header into `dir` (vmlinux.h's folder), for a source that
// starts with those includes. Built by `clang` with `cflags` the first time;
// at most `keep` such PCHs stay in `dir` (~16 MB each; the least recently
// used go). Empty path when building it failed.
std::filesystem::path provide_prefix_pch(const Clang& clang, const std::filesystem::path& dir,
                                         const std::string& prefix, const std::vector<std::string>& cflags,
                                         size_t keep = 8);

// Removes the least recently used (by access time) prefix-*.pch files in `dir` beyond `keep`.
void prune_prefix_pchs(const std::filesystem::path& dir, size_t keep);

// Print each command ecc runs to stderr first (ecc --verbose).
void print_commands(bool on);

// A compile running in the background: ecc starts clang first and does the
// rest of its work (the doc reader) while it runs.
class StartedCompile {
 public:
  StartedCompile(const StartedCompile&) = delete;
  StartedCompile& operator=(const StartedCompile&) = delete;
  StartedCompile(StartedCompile&& other) noexcept;
  ~StartedCompile();  // waits for clang if wait() was not called
  // clang's exit code and output. Returns 0 as soon as clang has renamed its
  // finished object into place (it does so only when there were no errors,
  // and its diagnostics are written by then): clang's exit, unmapping LLVM,
  // takes ~10 ms more, and is not waited for.
  ProcessResult wait();

 private:
  friend StartedCompile start_compile(const Clang&, const std::filesystem::path&, const std::filesystem::path&,
                                      const std::vector<std::string>&, const std::filesystem::path&);
  StartedCompile() = default;
  void close_fds();
  pid_t pid_ = -1;
  int output_fd_ = -1;
  int watch_fd_ = -1;       // inotify on the output's folder, -1 when unavailable
  std::string output_name;  // the object's file name, as the rename into place names it
  ProcessResult early_;     // when clang could not be started
};

StartedCompile start_compile(const Clang& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch);

ProcessResult compile_object(const Clang& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch);

}  // namespace ecli::compiler
