#include <string>
#include <vector>

#include "compiler/doc_comments.hpp"

// The entry point of libecli_docs.so (see docs_module.hpp).
extern "C" __attribute__((visibility("default"))) void ecli_extract_docs(const std::string& source,
                                                                         const std::vector<std::string>& clang_args,
                                                                         const std::string& pch,
                                                                         const std::vector<std::string>& headers,
                                                                         ecli::compiler::SourceDocs& out) {
  out = ecli::compiler::extract_docs(source, clang_args, pch, headers);
}
