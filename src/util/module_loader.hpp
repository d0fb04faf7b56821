#pragma once
// Optional parts of ecli that drag in big libraries (clang for doc
// comments, libcurl with its TLS stack for downloads, cpp-httplib for
// /metrics) live in shared objects loaded with dlopen on first use, so that a
// run that does not need them neither maps them nor pays ld.so for them.
#include <string>

namespace ecli {

// Loads FILE ("libecli_http.so") and returns the address of its C entry
// point ENTRY; callers keep it (in a function-local static). FILE is looked
// for beside the running executable, and for binaries below the build
// directory (tests, fuzz targets) in the build directory. Throws ecli::Error
// "cannot load FILE (needed for PURPOSE): <why>". Modules are never unloaded:
// their code may run until exit.
void* load_module_entry(const std::string& file, const char* entry, const std::string& purpose);

// The path of FILE (a module, or a program such as ecc-clang) where
// load_module_entry would look for it; empty when it is in none of those places.
std::string find_companion(const std::string& file);

// Typed form: load_module_function<void (*)(int)>("libx.so", "x_entry", "...").
template <typename Function>
Function load_module_function(const std::string& file, const char* entry, const std::string& purpose) {
  return reinterpret_cast<Function>(load_module_entry(file, entry, purpose));
}

}  // namespace ecli
