#pragma once
// libclang (and the LLVM it pulls in) takes ~17 ms to load. ecc loads the doc
// comment reader as a module on the thread that uses it, so the load overlaps
// the clang compile instead of delaying it.
#include <string>
#include <vector>

#include "compiler/doc_comments.hpp"

namespace ecli::compiler {

// Loads libecli_docs.so from beside the running executable and calls its
// extract_docs. Throws ecli::Error when the module cannot be loaded.
SourceDocs extract_docs_via_module(const std::string& source, const std::vector<std::string>& clang_args,
                                   const std::string& pch, const std::vector<std::string>& headers);

// The clang binary of the libclang the reader uses (/usr/lib/llvm-19/bin/clang):
// only PCHs it wrote can speed up the reader. Empty when it is not installed.
std::string doc_reader_clang();

}  // namespace ecli::compiler
