#include "compiler/clang_driver.hpp"

#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>

#include "util/error.hpp"
#include "util/hash.hpp"

namespace ecli::compiler {

std::string choose_clang(const std::string& requested) {
  if (!requested.empty()) return requested;
  if (const char* env = std::getenv("CLANG"); env && *env) return env;
  return "clang";
}

std::string target_arch_define() {
  struct utsname u {};
  uname(&u);
  std::string m = u.machine;
  std::string arch = m == "x86_64" || m == "i686" ? "x86"
                     : m == "aarch64"             ? "arm64"
                     : m.starts_with("arm")       ? "arm"
                     : m == "s390x"               ? "s390"
                     : m.starts_with("ppc")       ? "powerpc"
                     : m.starts_with("riscv")     ? "riscv"
                     : m.starts_with("mips")      ? "mips"
                     : m == "loongarch64"         ? "loongarch"
                                                  : m;
  return "-D__TARGET_ARCH_" + arch;
}

std::vector<std::string> bpf_cflags(const std::filesystem::path& vmlinux_dir, const std::vector<std::string>& extra_flags) {
  std::vector<std::string> flags = {"-g", "-O2", "-target", "bpf", target_arch_define()};
  if (!vmlinux_dir.empty()) flags.push_back("-I" + vmlinux_dir.string());
  // <linux/bpf.h> needs <asm/types.h>, which Debian keeps in the multiarch folder.
  struct utsname u {};
  uname(&u);
  for (std::string dir : {std::string("/usr/include/") + u.machine + "-linux-gnu", std::string("/usr/include/x86_64-linux-gnu")}) {
    if (access(dir.c_str(), F_OK) == 0) {
      flags.push_back("-idirafter");
      flags.push_back(dir);
      break;
    }
  }
  flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
  return flags;
}

std::filesystem::path provide_pch(const std::string& clang, const std::filesystem::path& header,
                                  const std::vector<std::string>& cflags) {
  // The PCH must match the compiler and every flag; key it by both.
  Hasher key;
  key.add(clang);
  struct stat st {};
  std::string clang_path = clang;
  if (clang.find('/') == std::string::npos) {
    for (const char* dir : {"/usr/bin/", "/usr/local/bin/"})
      if (access((std::string(dir) + clang).c_str(), X_OK) == 0) clang_path = std::string(dir) + clang;
  }
  if (stat(clang_path.c_str(), &st) == 0) key.add(std::to_string(st.st_mtime) + ":" + std::to_string(st.st_size));
  for (auto& f : cflags) key.add(f);
  std::filesystem::path pch = header.parent_path() / ("vmlinux-" + key.hex() + ".pch");
  if (std::filesystem::exists(pch)) return pch;

  std::filesystem::path tmp = pch;
  tmp += ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = {clang};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  argv.insert(argv.end(), {"-x", "c-header", header.string(), "-o", tmp.string()});
  if (run_process(argv).exit_code != 0) {
    std::filesystem::remove(tmp);
    return {};
  }
  std::filesystem::rename(tmp, pch);
  return pch;
}

ProcessResult compile_object(const std::string& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch) {
  std::vector<std::string> argv = {clang};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  if (!pch.empty()) argv.insert(argv.end(), {"-include-pch", pch.string()});
  argv.insert(argv.end(), {"-c", source.string(), "-o", output.string()});
  return run_process(argv);
}

}  // namespace ecli::compiler
