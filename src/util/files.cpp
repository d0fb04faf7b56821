#include "util/files.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "util/error.hpp"

namespace ecli {

std::string read_file(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path.string() + ": " + errno_text(errno));
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(path.string() + " is a directory, not a file");
  }
  std::string data;
  if (st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      throw Error("cannot read " + path.string() + ": " + errno_text(err));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

void write_file_atomic(const std::filesystem::path& path, std::string_view data) {
  auto tmp = path;
  tmp += ".tmp." + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error("cannot write " + path.string() + ": " + errno_text(errno));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error("cannot write " + path.string() + ": " + errno_text(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error("cannot write " + path.string() + ": " + errno_text(err));
  }
}

namespace {

namespace fs = std::filesystem;

// The stand-in for an unwritable cache, removed at exit.
fs::path temporary_cache;
std::string fallback_note;

void remove_temporary_cache() {
  std::error_code ec;
  if (!temporary_cache.empty()) fs::remove_all(temporary_cache, ec);
}

// Stand-in caches are named "ecli-cache-<pid>-XXXXXX" so that the owner of
// one left by a run killed with -9 can be told: such folders whose pid is gone
// and that belong to us are removed. Only runs that fall back make them, so
// only those look (not every run scans the temporary folder).
constexpr std::string_view kTemporaryCachePrefix = "ecli-cache-";

// The pid in a temporary's name ("1234"); 0 for anything that is not one.
pid_t pid_in_name(const std::string& digits) {
  if (digits.empty() || digits.size() > 10 || digits.find_first_not_of("0123456789") != std::string::npos) return 0;
  long long pid = std::stoll(digits);
  return pid <= INT32_MAX ? static_cast<pid_t>(pid) : 0;
}

void remove_dead_temporary_caches(const fs::path& parent) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.starts_with(kTemporaryCachePrefix)) continue;
    size_t dash = name.rfind('-');
    if (dash <= kTemporaryCachePrefix.size() || name.size() - dash - 1 != 6) continue;  // mkdtemp's XXXXXX
    pid_t owner = pid_in_name(name.substr(kTemporaryCachePrefix.size(), dash - kTemporaryCachePrefix.size()));
    if (owner <= 0) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) continue;
    if (::kill(owner, 0) != 0 && errno == ESRCH) {
      std::error_code remove_ec;
      fs::remove_all(entry.path(), remove_ec);
    }
  }
}

fs::path preferred_cache_dir() {
  if (const char* env = std::getenv("ECLI_CACHE_DIR"); env && *env) return env;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return fs::path(xdg) / "ecli";
  if (const char* home = std::getenv("HOME"); home && *home) return fs::path(home) / ".cache" / "ecli";
  return "/var/cache/ecli";
}

}  // namespace

fs::path cache_dir() {
  if (!temporary_cache.empty()) return temporary_cache;
  fs::path dir = preferred_cache_dir();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec && ::access(dir.c_str(), W_OK | X_OK) == 0) return dir;
  std::string why = ec ? ec.message() : errno_text(errno);

  const char* tmpdir = std::getenv("TMPDIR");
  fs::path parent = tmpdir && *tmpdir ? tmpdir : "/tmp";
  remove_dead_temporary_caches(parent);
  std::string pattern =
      (parent / (std::string(kTemporaryCachePrefix) + std::to_string(::getpid()) + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data()))
    throw Error("cannot create cache directory " + dir.string() + ": " + why +
                "; nor a temporary one: " + errno_text(errno) + " (set ECLI_CACHE_DIR)");
  temporary_cache = pattern;
  std::atexit(remove_temporary_cache);
  ::setenv("ECLI_CACHE_DIR", pattern.c_str(), 1);
  fallback_note = "ecli: cache directory " + dir.string() + " is not writable (" + why +
                  "); caching is off for this run (set ECLI_CACHE_DIR to a writable folder)";
  return temporary_cache;
}

std::string cache_fallback_note() { return fallback_note; }

bool temporary_is_stale(const fs::path& path, pid_t writer) {
  constexpr auto kStaleAge = std::chrono::hours(24);
  if (writer <= 0 || (::kill(writer, 0) != 0 && errno == ESRCH)) return true;
  std::error_code ec;
  auto written = fs::last_write_time(path, ec);
  return !ec && fs::file_time_type::clock::now() - written > kStaleAge;
}

void remove_stale_temporaries(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    size_t tmp = name.rfind(".tmp.");
    if (tmp == std::string::npos) continue;
    pid_t writer = pid_in_name(name.substr(tmp + 5));
    if (writer <= 0) continue;
    if (temporary_is_stale(entry.path(), writer)) {
      std::error_code remove_ec;
      fs::remove_all(entry.path(), remove_ec);
    }
  }
}

}  // namespace ecli
