#include "util/module_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <vector>

#include "util/error.hpp"

namespace ecli {
namespace {

// Where FILE may be, in order of preference: beside the executable; and in
// the build directory for the binaries built below it (unit and kernel tests
// in build/tests, fuzz targets in build/tests/fuzz). A copy of ecli elsewhere
// (installed, in an image) uses only the modules beside it.
std::vector<std::filesystem::path> module_candidates(const std::string& file) {
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {file};  // no /proc: the library search path
  paths.push_back(self.parent_path() / file);
#ifdef ECLI_MODULE_BUILD_DIR
  std::filesystem::path build = std::filesystem::weakly_canonical(ECLI_MODULE_BUILD_DIR, ec);
  if (!ec && self.parent_path() != build) {
    auto [mismatch, _] = std::mismatch(build.begin(), build.end(), self.begin(), self.end());
    if (mismatch == build.end()) paths.push_back(build / file);
  }
#endif
  return paths;
}

}  // namespace

std::string find_companion(const std::string& file) {
  std::error_code ec;
  for (const auto& path : module_candidates(file))
    if (std::filesystem::exists(path, ec)) return path.string();
  return {};
}

void* load_module_entry(const std::string& file, const char* entry, const std::string& purpose) {
  auto fail = [&](const std::string& why) {
    return Error("cannot load " + file + " (needed for " + purpose + "): " + why);
  };
  std::string why;
  for (const auto& path : module_candidates(file)) {
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* text = dlerror();
      std::string error = text ? text : path.string() + ": cannot be loaded";
      std::error_code ec;
      // A module that is there but does not load (a library it links is
      // missing) is the reason to report; one that is not there, the first.
      if (std::filesystem::exists(path, ec)) throw fail(error);
      if (why.empty()) why = error;
      continue;
    }
    dlerror();
    void* symbol = dlsym(handle, entry);
    if (!symbol) throw fail(path.string() + " has no " + entry + " (a module of another ecli build?)");
    return symbol;
  }
  throw fail(why.empty() ? "no place to look for it" : why);
}

}  // namespace ecli
