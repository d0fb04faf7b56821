#pragma once
// Running clang on BPF C: the flags every compile needs, and a precompiled
// header for the generated vmlinux.h (480 ms -> 60 ms per compile, DESIGN.md §7).
#include <filesystem>
#include <string>
#include <vector>

#include "util/subprocess.hpp"

namespace ecli::compiler {

// --clang, else $CLANG, else "clang".
std::string choose_clang(const std::string& requested);

// "-D__TARGET_ARCH_x86" and friends for the machine we run on.
std::string target_arch_define();

// Flags shared by the PCH, the compile and the libclang parse: target, arch,
// include paths (vmlinux.h folder, multiarch system headers) and extras. The
// source's own folder is not here so that one PCH serves every source.
std::vector<std::string> bpf_cflags(const std::filesystem::path& vmlinux_dir, const std::vector<std::string>& extra_flags);

// A PCH of `header` built with `cflags`, cached beside it; empty path when
// building it failed (compiles then go without it).
std::filesystem::path provide_pch(const std::string& clang, const std::filesystem::path& header,
                                  const std::vector<std::string>& cflags);

ProcessResult compile_object(const std::string& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch);

}  // namespace ecli::compiler
