#pragma once
// ecc: one BPF C file (plus optional headers) to package.json and x.bpf.o.
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/source_docs.hpp"
#include "package/package.hpp"

namespace ecli::compiler {

struct EccOptions {
  std::filesystem::path source;
  std::vector<std::filesystem::path> headers;  // eunomia's export-type headers
  std::filesystem::path output_dir;            // default: the source's folder
  std::string clang;                           // default: $CLANG, else the newest clang-N, else "clang"
  std::vector<std::string> extra_flags;        // -a
  std::string btf;                             // BTF for vmlinux.h, default the running kernel's
  bool use_pch = true;
  bool quiet = false;
  bool verbose = false;  // print the commands run and the PCHs used
};

struct EccResult {
  std::filesystem::path package_path;
  std::filesystem::path object_path;
};

// Throws ecli::Error (details hold clang's diagnostics) and writes nothing
// when compiling fails.
EccResult run_ecc(const EccOptions& options);

// Merges doc-comment annotations into metadata built from the object.
void merge_docs(package::Meta& meta, const SourceDocs& docs);

// "hello" for "hello.bpf.c".
std::string program_base_name(const std::filesystem::path& source);

}  // namespace ecli::compiler
