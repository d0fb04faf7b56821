#include "runtime/run_loop.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>

#include "util/error.hpp"

namespace ecli::runtime {

RunLoop::RunLoop() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a closed stdout shows up as EPIPE instead
  signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) throw Error("signalfd: " + errno_text(errno));
}

RunLoop::~RunLoop() {
  if (signal_fd_ >= 0) close(signal_fd_);
}

void RunLoop::watch(int fd, std::function<bool()> on_ready) {
  fds_.push_back({fd, POLLIN, 0});
  handlers_.push_back(std::move(on_ready));
}

void RunLoop::every(std::function<int()> next_timeout_ms, std::function<bool()> on_tick) {
  timers_.push_back({std::move(next_timeout_ms), std::move(on_tick)});
}

void RunLoop::run(double duration_seconds) {
  using clock = std::chrono::steady_clock;
  const bool limited = duration_seconds > 0;
  const auto deadline = clock::now() + std::chrono::microseconds(static_cast<int64_t>(duration_seconds * 1e6));
  std::vector<pollfd> fds = fds_;
  fds.push_back({signal_fd_, POLLIN, 0});
  for (;;) {
    int timeout = -1;
    if (limited) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
      if (left <= 0) return;
      timeout = static_cast<int>(std::min<int64_t>(left + 1, INT32_MAX));
    }
    for (auto& timer : timers_) {
      int tick = timer.next_timeout_ms();
      if (tick <= 0) {
        if (!timer.on_tick()) return;
        tick = timer.next_timeout_ms();
      }
      timeout = timeout < 0 ? tick : std::min(timeout, tick);
    }
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("poll: " + errno_text(errno));
    }
    if (fds.back().revents) return;
    for (size_t i = 0; i + 1 < fds.size(); i++) {
      if (!fds[i].revents) continue;
      if (!handlers_[i]()) return;
    }
  }
}

bool write_stdout(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{STDOUT_FILENO, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace ecli::runtime
