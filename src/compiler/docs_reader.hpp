#pragma once
// Getting the source's docs (source_docs.hpp) from ecc-clang: its plugin
// ecc-docs writes them while it compiles, or alone with -fsyntax-only.
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/source_docs.hpp"

namespace ecli::compiler {

// ecc-clang beside the running executable (or in the build folder, for the
// tests); empty when it is missing.
std::string embedded_clang();

// The driver flags that make ecc-clang write the docs to `output`, exporting
// the structs of `headers`.
std::vector<std::string> docs_flags(const std::filesystem::path& output, const std::vector<std::string>& headers);

// The docs ecc-clang wrote to `file`. Throws ecli::Error when it wrote none.
SourceDocs read_docs_file(const std::filesystem::path& file);

// Runs ecc-clang on `source` with `clang_args` (include paths, defines,
// target) for its docs alone. A `pch` (of vmlinux.h, written by ecc-clang)
// makes the parse ~10x faster; one it rejects is dropped. Throws ecli::Error
// when ecc-clang is missing or cannot parse the source.
SourceDocs extract_docs(const std::string& source, const std::vector<std::string>& clang_args,
                        const std::string& pch = {}, const std::vector<std::string>& headers = {});

}  // namespace ecli::compiler
