#pragma once
// Which of the user's files a source includes, and whether any of them wants
// the generated vmlinux.h. Read in-process: a preprocessor run costs a clang
// start (about as much as the whole compile with the PCH), and the answer only
// chooses what ecc provides; clang's own include search still decides.
#include <filesystem>
#include <string>
#include <vector>

namespace ecli::compiler {

struct IncludeScan {
  // Some file includes a vmlinux.h that none of the user's folders has.
  bool wants_vmlinux = false;
  // The source and the headers it reaches in the user's folders (in order
  // found; system headers are not read).
  std::vector<std::filesystem::path> files;
  std::vector<std::string> texts;  // of `files`, in the same order

  // Whether any of the files names `word` ("BPF_NO_KFUNC_PROTOTYPES").
  bool mentions(const std::string& word) const;
};

// Follows `#include "x"` (from the including file's folder, then
// `user_dirs`) and `#include <x>` (from `user_dirs`) recursively. Every
// include counts, also under #if: a guess too many costs a retry without the
// PCH, never a wrong build.
IncludeScan scan_includes(const std::filesystem::path& source, const std::vector<std::filesystem::path>& user_dirs);

// The names of the structs that `texts` define (`struct NAME {`, also across
// lines and inside typedefs; comments, strings and character literals
// skipped), in order, each once. A lexical guess: a name under #if 0 or
// defined inside a function is listed too.
std::vector<std::string> defined_struct_names(const std::vector<std::string>& texts);

// The run of `#include` lines `text` (a source) starts with, comments and
// blank lines around them allowed, while each names vmlinux.h, a libbpf
// header (<bpf/bpf_helpers.h>, bpf_tracing.h, bpf_core_read.h, bpf_endian.h)
// or <linux/...>, and none of `user_dirs` has a file of that name (the user's
// copy would win over ours). Anything else (a #define, #if, a local header,
// code) ends the run. One `#include <name>` line each; empty unless the first
// is vmlinux.h. ecc precompiles this prefix.
std::string leading_system_includes(const std::string& text, const std::vector<std::filesystem::path>& user_dirs);

// The -I and -iquote folders among clang flags ("-Idir" or "-I", "dir").
std::vector<std::filesystem::path> include_dirs_of(const std::vector<std::string>& flags);

}  // namespace ecli::compiler
