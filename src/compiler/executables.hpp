#pragma once
// Finding the tools ecc runs (clang, bpftool) and telling builds of them apart,
// so that caches made with one are never used with another.
#include <filesystem>
#include <string>
#include <vector>

namespace ecli::compiler {

// `name` as the shell finds it (PATH), then in `extra_dirs`; a name with a
// slash is taken as a path. Canonical (symlinks resolved); empty when missing.
std::filesystem::path find_executable(const std::string& name, const std::vector<std::string>& extra_dirs = {});

// Path, modification time and size: changes when the file is replaced.
std::string file_identity(const std::filesystem::path& path);

}  // namespace ecli::compiler
