#include "compiler/clang_driver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <sstream>

#include "compiler/executables.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

namespace ecli::compiler {
namespace {

bool printing_commands = false;

void print_command(const std::vector<std::string>& argv) {
  if (!printing_commands) return;
  std::string line = "ecc: running";
  for (const auto& a : argv) line += " " + a;
  std::cerr << line + "\n";  // one write: the doc reader's thread may print too
}

ProcessResult run_command(const std::vector<std::string>& argv) {
  print_command(argv);
  return run_process(argv);
}

// Debian installs every clang as clang-N beside the default `clang`.
std::string newest_versioned_clang() {
  std::string best;
  int best_version = 0;
  const char* path_env = std::getenv("PATH");
  std::stringstream path(path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(path, dir, ':');) {
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir.empty() ? "." : dir, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (!name.starts_with("clang-") || name.size() == 6 || name.size() > 9) continue;
      if (name.find_first_not_of("0123456789", 6) != std::string::npos) continue;
      int version = std::atoi(name.c_str() + 6);
      if (version > best_version && access(it->path().c_str(), X_OK) == 0) {
        best_version = version;
        best = name;
      }
    }
  }
  return best;
}

// An answer about clangs kept in the cache's "clang" folder under `name`:
// read from there, else `find()` (nullopt: no answer, not kept). Without a
// usable cache, found every time.
std::string remembered(const std::string& name, const std::function<std::optional<std::string>()>& find) {
  std::filesystem::path cached;
  try {
    cached = cache_dir() / "clang" / name;
    if (std::filesystem::exists(cached)) return read_file(cached);
  } catch (const Error&) {
    cached.clear();
  }
  std::optional<std::string> answer = find();
  if (!answer) return {};
  if (!cached.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(cached.parent_path(), ec);
    try {
      write_file_atomic(cached, *answer);
    } catch (const Error&) {
    }
  }
  return *answer;
}

// The scan of PATH (thousands of names in /usr/bin) costs more than the rest
// of ecc's start: remember its answer while PATH and its folders' entries (a
// folder's mtime changes with them) stay the same.
std::string newest_versioned_clang_cached() {
  const char* path_env = std::getenv("PATH");
  std::string path_text = path_env ? path_env : "/usr/local/bin:/usr/bin:/bin";
  Hasher key;
  key.add("newest clang-N").add(path_text);
  std::stringstream path(path_text);
  for (std::string dir; std::getline(path, dir, ':');) {
    struct stat st {};
    if (stat(dir.empty() ? "." : dir.c_str(), &st) != 0) continue;
    key.add(dir).add(std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                     std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  return remembered("newest-" + key.hex(), [] { return std::optional<std::string>(newest_versioned_clang()); });
}

// `clang -dumpversion` costs a clang start (~40 ms); ask once per build of clang.
std::string clang_version(const std::string& command, const std::string& identity) {
  return remembered(Hasher().add(identity).hex(), [&]() -> std::optional<std::string> {
    ProcessResult result = run_command({command, "-dumpversion"});
    if (result.exit_code != 0) return std::nullopt;
    return result.output.substr(0, result.output.find_first_of("\r\n"));
  });
}

}  // namespace

Clang describe_clang(const std::string& command) {
  Clang clang{command, {}, 0};
  std::filesystem::path path = find_executable(command);
  if (path.empty()) return clang;  // running it says "cannot run"
  clang.identity = file_identity(path);
  clang.major = std::atoi(clang_version(command, clang.identity).c_str());
  return clang;
}

Clang choose_clang(const std::string& requested, const std::string& embedded) {
  if (!requested.empty()) return describe_clang(requested);
  if (const char* env = std::getenv("CLANG"); env && *env) return describe_clang(env);
  if (!embedded.empty()) return describe_clang(embedded);
  std::string newest = newest_versioned_clang_cached();
  return describe_clang(newest.empty() ? "clang" : newest);
}

std::string bpf_cpu_flag(int clang_major, std::string_view kernel_release) {
  // v4 (signed division, sign-extending loads and moves, byte swaps) came with
  // clang 18. Older clangs keep the default they have always been used with.
  if (clang_major < 18) return {};
  int major = 0, minor = 0;
  if (std::sscanf(std::string(kernel_release).c_str(), "%d.%d", &major, &minor) != 2) return {};
  auto at_least = [&](int want_major, int want_minor) {
    return major > want_major || (major == want_major && minor >= want_minor);
  };
  if (at_least(6, 6)) return "-mcpu=v4";
  if (at_least(5, 1)) return "-mcpu=v3";  // 32-bit jumps
  if (at_least(4, 14)) return "-mcpu=v2";
  return {};
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

std::vector<std::string> bpf_cflags(const Clang& clang, const std::filesystem::path& vmlinux_dir,
                                    const std::vector<std::string>& extra_flags) {
  std::vector<std::string> flags = {"-g", "-O2", "-target", "bpf"};
  struct utsname u {};
  uname(&u);
  bool cpu_chosen = false;
  for (const auto& f : extra_flags) cpu_chosen |= f.starts_with("-mcpu");
  if (std::string cpu = bpf_cpu_flag(clang.major, u.release); !cpu.empty() && !cpu_chosen) flags.push_back(cpu);
  flags.push_back(target_arch_define());
  if (!vmlinux_dir.empty()) flags.push_back("-I" + vmlinux_dir.string());
  // <linux/bpf.h> needs <asm/types.h>, which Debian keeps in the multiarch folder.
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

namespace {

// A PCH is readable only by the clang that wrote it, with the same flags: key it by both.
std::filesystem::path pch_path(const Clang& clang, const std::filesystem::path& header,
                               const std::vector<std::string>& cflags) {
  Hasher key;
  key.add(clang.identity.empty() ? clang.command : clang.identity);
  for (auto& f : cflags) key.add(f);
  return header.parent_path() / (header.stem().string() + "-" + key.hex() + ".pch");
}

}  // namespace

std::filesystem::path provide_prefix_pch(const Clang& clang, const std::filesystem::path& dir,
                                         const std::string& prefix, const std::vector<std::string>& cflags,
                                         size_t keep) {
  std::filesystem::path header = dir / ("prefix-" + Hasher().add(prefix).hex() + ".h");
  if (!std::filesystem::exists(header)) write_file_atomic(header, prefix);
  std::filesystem::path pch = pch_path(clang, header, cflags);
  std::error_code ec;
  if (std::filesystem::exists(pch, ec)) {
    // Used now: the last to go when old ones are removed. The access time
    // says so (set here, whatever the mount's atime rule); the mtime stays.
    struct timespec times[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
    utimensat(AT_FDCWD, pch.c_str(), times, 0);
    return pch;
  }
  pch = provide_pch(clang, header, cflags);
  if (!pch.empty()) prune_prefix_pchs(dir, keep);
  return pch;
}

void prune_prefix_pchs(const std::filesystem::path& dir, size_t keep) {
  std::vector<std::pair<std::pair<time_t, long>, std::filesystem::path>> pchs;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with("prefix-") || !name.ends_with(".pch")) continue;
    struct stat st {};
    if (stat(entry.path().c_str(), &st) == 0) pchs.push_back({{st.st_atim.tv_sec, st.st_atim.tv_nsec}, entry.path()});
  }
  if (pchs.size() <= keep) return;
  std::sort(pchs.begin(), pchs.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = keep; i < pchs.size(); i++) std::filesystem::remove(pchs[i].second, ec);
}

std::filesystem::path provide_pch(const Clang& clang, const std::filesystem::path& header,
                                  const std::vector<std::string>& cflags) {
  std::filesystem::path pch = pch_path(clang, header, cflags);
  if (std::filesystem::exists(pch)) return pch;

  std::filesystem::path tmp = pch;
  tmp += ".tmp." + std::to_string(getpid());
  std::vector<std::string> argv = {clang.command};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  argv.insert(argv.end(), {"-x", "c-header", header.string(), "-o", tmp.string()});
  if (run_command(argv).exit_code != 0) {
    std::filesystem::remove(tmp);
    return {};
  }
  std::filesystem::rename(tmp, pch);
  return pch;
}

void print_commands(bool on) { printing_commands = on; }

StartedCompile start_compile(const Clang& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch) {
  std::vector<std::string> argv = {clang.command};
  argv.insert(argv.end(), cflags.begin(), cflags.end());
  if (!pch.empty()) argv.insert(argv.end(), {"-include-pch", pch.string()});
  argv.insert(argv.end(), {"-c", source.string(), "-o", output.string()});
  print_command(argv);

  StartedCompile started;
  // Watched before clang starts, so its rename cannot be missed. Flags that
  // make clang report after the object is written turn the watch off.
  bool reports_at_end = std::any_of(cflags.begin(), cflags.end(), [](const std::string& f) {
    return f == "-v" || f.starts_with("-ftime-report") || f.starts_with("-print-stats") || f.starts_with("-Xclang");
  });
  started.watch_fd_ = reports_at_end ? -1 : inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  std::filesystem::path folder = output.parent_path().empty() ? "." : output.parent_path();
  if (started.watch_fd_ >= 0 && inotify_add_watch(started.watch_fd_, folder.c_str(), IN_MOVED_TO) < 0) {
    ::close(started.watch_fd_);
    started.watch_fd_ = -1;
  }
  started.output_name = output.filename().string();
  SpawnedProcess process = spawn_process(argv);
  if (process.pid < 0) {
    started.close_fds();
    started.early_.output = process.error;
    return started;
  }
  started.pid_ = process.pid;
  started.output_fd_ = process.output_fd;
  return started;
}

StartedCompile::StartedCompile(StartedCompile&& other) noexcept
    : pid_(other.pid_),
      output_fd_(other.output_fd_),
      watch_fd_(other.watch_fd_),
      output_name(std::move(other.output_name)),
      early_(std::move(other.early_)) {
  other.pid_ = -1;
  other.output_fd_ = -1;
  other.watch_fd_ = -1;
}

StartedCompile::~StartedCompile() {
  if (pid_ > 0) wait();
}

void StartedCompile::close_fds() {
  for (int* fd : {&output_fd_, &watch_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

namespace {

// Whether the inotify events waiting on `fd` include `name` moved into the folder.
bool moved_into_place(int fd, const std::string& name) {
  alignas(struct inotify_event) char buf[4096];
  bool seen = false;
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return seen;
    for (char* p = buf; p < buf + n;) {
      auto* event = reinterpret_cast<struct inotify_event*>(p);
      if (event->len && name == event->name) seen = true;
      p += sizeof(struct inotify_event) + event->len;
    }
  }
}

}  // namespace

ProcessResult StartedCompile::wait() {
  if (pid_ <= 0) return early_;
  ProcessResult result;
  char buf[8192];
  auto read_some = [&]() -> ssize_t {
    ssize_t n;
    while ((n = ::read(output_fd_, buf, sizeof buf)) < 0 && errno == EINTR) {
    }
    if (n > 0) result.output.append(buf, static_cast<size_t>(n));
    return n;
  };
  bool in_place = false;
  while (!in_place) {
    struct pollfd fds[2] = {{output_fd_, POLLIN, 0}, {watch_fd_, POLLIN, 0}};
    if (::poll(fds, watch_fd_ >= 0 ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (watch_fd_ >= 0 && (fds[1].revents & POLLIN) && moved_into_place(watch_fd_, output_name)) {
      // The object is complete, and what clang said before is in the pipe.
      // With no diagnostics there are none to come; with some, clang sums
      // them up ("2 warnings generated.") after the rename: read to the end.
      ::close(watch_fd_);
      watch_fd_ = -1;
      fcntl(output_fd_, F_SETFL, O_NONBLOCK);
      while (read_some() > 0) {
      }
      fcntl(output_fd_, F_SETFL, 0);
      in_place = result.output.empty();
      continue;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP)) && read_some() <= 0) break;  // end of output
  }
  close_fds();
  int status = 0;
  if (in_place) {
    // Reaped now if it is gone already; else it ends on its own (ecc's exit leaves it to init).
    waitpid(pid_, &status, WNOHANG);
    pid_ = -1;
    result.exit_code = 0;
    return result;
  }
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

ProcessResult compile_object(const Clang& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch) {
  return start_compile(clang, source, output, cflags, pch).wait();
}

}  // namespace ecli::compiler
