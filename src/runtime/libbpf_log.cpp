#include "runtime/libbpf_log.hpp"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>

namespace ecli::runtime {
namespace {

std::mutex g_mutex;
std::string g_log;
bool g_verbose = false;

int on_libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG && !g_verbose) return 0;
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof buf, fmt, args);
  std::string text;
  if (n >= static_cast<int>(sizeof buf)) {
    text.resize(static_cast<size_t>(n) + 1);
    vsnprintf(text.data(), text.size(), fmt, copy);
    text.resize(static_cast<size_t>(n));
  } else if (n > 0) {
    text.assign(buf, static_cast<size_t>(n));
  }
  va_end(copy);
  std::lock_guard lock(g_mutex);
  if (g_verbose) fputs(text.c_str(), stderr);
  if (g_log.size() < (8u << 20)) g_log += text;
  return 0;
}

}  // namespace

void capture_libbpf_log(bool verbose) {
  g_verbose = verbose;
  libbpf_set_print(on_libbpf_print);
}

const std::string& libbpf_log() { return g_log; }

void clear_libbpf_log() {
  std::lock_guard lock(g_mutex);
  g_log.clear();
}

void verbose_note(const std::string& line) {
  if (!g_verbose) return;
  std::lock_guard lock(g_mutex);
  fprintf(stderr, "ecli: %s\n", line.c_str());
}

std::string last_libbpf_message() {
  std::lock_guard lock(g_mutex);
  size_t end = g_log.find_last_not_of("\n ");
  if (end == std::string::npos) return {};
  size_t start = g_log.rfind('\n', end);
  std::string line = g_log.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
  if (line.starts_with("libbpf: ")) line.erase(0, 8);
  return line;
}

}  // namespace ecli::runtime
