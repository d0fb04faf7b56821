#include "compiler/docs_module.hpp"

#include <unistd.h>

#include "util/module_loader.hpp"

namespace ecli::compiler {

using ExtractFn = void (*)(const std::string&, const std::vector<std::string>&, const std::string&,
                          const std::vector<std::string>&, SourceDocs&);

SourceDocs extract_docs_via_module(const std::string& source, const std::vector<std::string>& clang_args,
                                   const std::string& pch, const std::vector<std::string>& headers) {
  static const ExtractFn extract =
      load_module_function<ExtractFn>("libecli_docs.so", "ecli_extract_docs", "the doc comment reader");
  SourceDocs docs;
  extract(source, clang_args, pch, headers, docs);
  return docs;
}

std::string doc_reader_clang() {
#ifdef ECLI_LIBCLANG_CLANG
  if (access(ECLI_LIBCLANG_CLANG, X_OK) == 0) return ECLI_LIBCLANG_CLANG;
#endif
  return {};
}

}  // namespace ecli::compiler
