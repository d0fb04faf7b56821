#include "runtime/perf_event_release.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace ecli::runtime {
namespace {

// What /proc/self/fd says an fd is ("anon_inode:bpf_link", "anon_inode:[perf_event]"...).
std::string_view fd_kind(int proc_fd, const char* name, char (&buffer)[64]) {
  ssize_t n = readlinkat(proc_fd, name, buffer, sizeof buffer);
  return n > 0 ? std::string_view(buffer, static_cast<size_t>(n)) : std::string_view();
}

// True when the links can be closed while their perf events are held
// elsewhere: each is a kernel link, which takes its program off the hook when
// it closes. USDT links (one libbpf link over several uprobes) have no fd of
// their own and are judged by the others; at least one link must be seen.
bool links_detach_on_close(int proc_fd, const std::vector<struct bpf_link*>& links) {
  char buffer[64];
  bool seen = false;
  for (struct bpf_link* link : links) {
    int fd = bpf_link__fd(link);
    if (fd < 0) continue;
    if (fd_kind(proc_fd, std::to_string(fd).c_str(), buffer) != "anon_inode:bpf_link") return false;
    seen = true;
  }
  return seen;
}

// The fds of every perf event open in this process.
std::vector<int> perf_event_fds(DIR* proc_dir) {
  std::vector<int> fds;
  char buffer[64];
  while (struct dirent* entry = readdir(proc_dir)) {
    if (entry->d_name[0] == '.') continue;
    if (fd_kind(dirfd(proc_dir), entry->d_name, buffer) == "anon_inode:[perf_event]")
      fds.push_back(std::atoi(entry->d_name));
  }
  return fds;
}

}  // namespace

PerfEventRelease::PerfEventRelease(const std::vector<struct bpf_link*>& links) {
  if (links.empty()) return;
  DIR* proc_dir = opendir("/proc/self/fd");
  if (!proc_dir) return;
  std::vector<int> fds;
  if (links_detach_on_close(dirfd(proc_dir), links)) fds = perf_event_fds(proc_dir);
  closedir(proc_dir);
  if (fds.empty()) return;
  map_fd_ = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "ecli_release", sizeof(__u32), sizeof(__u32),
                           static_cast<__u32>(fds.size()), nullptr);
  if (map_fd_ < 0) return;
  for (__u32 i = 0; i < fds.size(); ++i) {
    __u32 value = static_cast<__u32>(fds[i]);
    // Refused for an event the kernel cannot read from a program (inherit);
    // that one is released the usual way, by its own close.
    bpf_map_update_elem(map_fd_, &i, &value, BPF_ANY);
  }
}

PerfEventRelease::~PerfEventRelease() {
  if (map_fd_ >= 0) close(map_fd_);
}

}  // namespace ecli::runtime
