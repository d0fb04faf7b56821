#include "compiler/docs_module.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>

#include "util/error.hpp"

namespace ecli::compiler {

using ExtractFn = void (*)(const std::string&, const std::vector<std::string>&, const std::string&,
                          const std::vector<std::string>&, SourceDocs&);

SourceDocs extract_docs_via_module(const std::string& source, const std::vector<std::string>& clang_args,
                                   const std::string& pch, const std::vector<std::string>& headers) {
  static ExtractFn extract = [] {
    std::error_code ec;
    std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
    std::string path = (self.parent_path() / "libecli_docs.so").string();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw Error(std::string("cannot load the doc comment reader: ") + dlerror());
    auto fn = reinterpret_cast<ExtractFn>(dlsym(handle, "ecli_extract_docs"));
    if (!fn) throw Error("cannot load the doc comment reader: " + path + " has no ecli_extract_docs");
    return fn;
  }();
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
