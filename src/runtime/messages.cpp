#include "runtime/messages.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include <fmt/format.h>

namespace ecli::runtime {

void warn(const std::string& text) { std::cerr << "ecli: " << text << std::endl; }

std::string clock_text(time_t when) {
  struct tm tm {};
  localtime_r(&when, &tm);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string lockdown_mode_from(const std::string& text) {
  size_t open = text.find('['), close = text.find(']', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return {};
  return text.substr(open + 1, close - open - 1);
}

namespace {

constexpr const char* kLockdownFile = "/sys/kernel/security/lockdown";

// securityfs is often not mounted (as on Debian without systemd's mounts):
// read the file in a child with a private mount namespace, so the host's
// mounts stay untouched. Only system calls after fork (ecli has threads).
std::string read_lockdown_in_private_mounts() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t child = fork();
  if (child == 0) {
    char buf[128];
    ssize_t n = -1;
    if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
        mount("securityfs", "/sys/kernel/security", "securityfs", 0, nullptr) == 0) {
      int fd = open(kLockdownFile, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) n = read(fd, buf, sizeof buf);
    }
    if (n > 0) (void)!write(fds[1], buf, static_cast<size_t>(n));
    _exit(0);
  }
  close(fds[1]);
  std::string text;
  char buf[128];
  ssize_t n;
  while (child > 0 && (n = read(fds[0], buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  if (child > 0) waitpid(child, nullptr, 0);
  return text;
}

}  // namespace

std::string lockdown_mode() {
  std::ifstream in(kLockdownFile);
  std::string text;
  if (!std::getline(in, text)) text = read_lockdown_in_private_mounts();
  return lockdown_mode_from(text);
}

std::string lockdown_refusal(const std::string& last_line, const std::string& mode) {
  if (mode.empty() || mode == "none") return {};
  // The helpers the kernel withholds under lockdown (kernel_lockdown(7)):
  // writing user memory from "integrity" on, reading kernel memory under "confidentiality".
  struct Refused {
    const char* helper;
    bool integrity;
  };
  static constexpr Refused kRefused[] = {{"bpf_probe_write_user", true},     {"bpf_probe_read_kernel_str", false},
                                         {"bpf_probe_read_kernel", false},    {"bpf_probe_read_str", false},
                                         {"bpf_probe_read", false}};
  for (const Refused& r : kRefused) {
    std::string name = std::string(r.helper) + "#";
    if (last_line.find(name) == std::string::npos) continue;
    if (!r.integrity && mode != "confidentiality") return {};
    return fmt::format("it calls {}, which the kernel refuses under lockdown (mode \"{}\" in "
                       "/sys/kernel/security/lockdown)",
                       r.helper, mode);
  }
  return {};
}

}  // namespace ecli::runtime
