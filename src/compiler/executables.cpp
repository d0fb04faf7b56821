#include "compiler/executables.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

namespace ecli::compiler {

std::filesystem::path find_executable(const std::string& name, const std::vector<std::string>& extra_dirs) {
  auto usable = [](const std::filesystem::path& p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(p.c_str(), X_OK) == 0;
  };
  auto canonical = [](const std::filesystem::path& p) {
    std::error_code ec;
    std::filesystem::path out = std::filesystem::canonical(p, ec);
    return ec ? p : out;
  };
  if (name.find('/') != std::string::npos) return usable(name) ? canonical(name) : std::filesystem::path();
  std::vector<std::string> dirs;
  const char* path_env = std::getenv("PATH");
  std::stringstream path(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');) dirs.push_back(dir.empty() ? "." : dir);
  dirs.insert(dirs.end(), extra_dirs.begin(), extra_dirs.end());
  for (const auto& dir : dirs)
    if (std::filesystem::path candidate = std::filesystem::path(dir) / name; usable(candidate)) return canonical(candidate);
  return {};
}

std::string file_identity(const std::filesystem::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path.string();
  return path.string() + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size);
}

}  // namespace ecli::compiler
