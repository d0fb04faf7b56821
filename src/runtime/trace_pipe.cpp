#include "runtime/trace_pipe.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace ecli::runtime {
namespace {

constexpr const char* kInstancePrefix = "ecli-";

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

bool write_text(const std::string& path, const char* text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text, strlen(text)) == static_cast<ssize_t>(strlen(text));
  ::close(fd);
  return ok;
}

// Instances left by an ecli that was killed -9: remove those whose pid is gone.
void remove_stale_instances(const std::string& instances) {
  DIR* dir = opendir(instances.c_str());
  if (!dir) return;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (!name.starts_with(kInstancePrefix)) continue;
    pid_t pid = static_cast<pid_t>(atoi(name.c_str() + strlen(kInstancePrefix)));
    if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) rmdir((instances + "/" + name).c_str());
  }
  closedir(dir);
}

}  // namespace

std::string tracefs_root() {
  for (const char* root : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"})
    if (exists(std::string(root) + "/trace_pipe")) return root;
  // `ip netns exec` gives a fresh /sys without tracefs: mount it.
  if (mount("nodev", "/sys/kernel/tracing", "tracefs", 0, nullptr) == 0 && exists("/sys/kernel/tracing/trace_pipe"))
    return "/sys/kernel/tracing";
  throw Error("cannot find or mount tracefs at /sys/kernel/tracing: " + errno_text(errno) +
              " (bpf_printk output needs it; use --no-trace-pipe to run without)");
}

std::unique_ptr<TracePipe> TracePipe::open() {
  std::string root = tracefs_root();
  std::unique_ptr<TracePipe> pipe(new TracePipe());
  std::string instances = root + "/instances";
  remove_stale_instances(instances);
  std::string dir = instances + "/" + kInstancePrefix + std::to_string(getpid());
  if (mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) {
    if (write_text(dir + "/events/bpf_trace/bpf_trace_printk/enable", "1")) {
      pipe->instance_dir_ = dir;
      pipe->fd_ = ::open((dir + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    } else {
      rmdir(dir.c_str());
    }
  }
  if (pipe->fd_ < 0) {
    pipe->instance_dir_.clear();
    pipe->fd_ = ::open((root + "/trace_pipe").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (pipe->fd_ < 0) throw Error("cannot open " + root + "/trace_pipe: " + errno_text(errno));
    // Lines already there are from before this run.
    char buf[65536];
    while (::read(pipe->fd_, buf, sizeof buf) > 0) {
    }
  }
  return pipe;
}

TracePipe::~TracePipe() {
  if (fd_ >= 0) ::close(fd_);
  if (!instance_dir_.empty()) {
    write_text(instance_dir_ + "/events/bpf_trace/bpf_trace_printk/enable", "0");
    rmdir(instance_dir_.c_str());
  }
}

bool TracePipe::read_lines(std::string& out) {
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    if (n == 0) return true;
    partial_.append(buf, static_cast<size_t>(n));
    size_t last_newline = partial_.rfind('\n');
    if (last_newline == std::string::npos) continue;
    // bpf_printk formats often end in "\n", which leaves an empty line behind.
    size_t pos = 0;
    while (pos <= last_newline) {
      size_t nl = partial_.find('\n', pos);
      if (nl > pos) out.append(partial_, pos, nl - pos + 1);
      pos = nl + 1;
    }
    partial_.erase(0, last_newline + 1);
    if (static_cast<size_t>(n) < sizeof buf) return true;
  }
}

}  // namespace ecli::runtime
