#pragma once
// The poll loop of `ecli run`: ready file descriptors call their handlers
// until Ctrl-C, SIGTERM, the duration, or a handler asks to stop.
#include <functional>
#include <string_view>
#include <vector>

#include <poll.h>

namespace ecli::runtime {

class RunLoop {
 public:
  // Blocks SIGINT and SIGTERM (call before starting threads) and reads them from a signalfd.
  RunLoop();
  ~RunLoop();
  RunLoop(const RunLoop&) = delete;
  RunLoop& operator=(const RunLoop&) = delete;

  // `on_ready` returns false to stop the loop.
  void watch(int fd, std::function<bool()> on_ready);
  // A timer: `on_tick` runs whenever `next_timeout_ms()` has reached 0. Several may be added.
  void every(std::function<int()> next_timeout_ms, std::function<bool()> on_tick);
  // Runs until stopped; `duration_seconds` <= 0 means no limit.
  void run(double duration_seconds);

 private:
  int signal_fd_ = -1;
  std::vector<pollfd> fds_;
  std::vector<std::function<bool()>> handlers_;
  struct Timer {
    std::function<int()> next_timeout_ms;
    std::function<bool()> on_tick;
  };
  std::vector<Timer> timers_;
};

// Writes all of `data` to stdout; false when stdout is gone (EPIPE).
bool write_stdout(std::string_view data);

}  // namespace ecli::runtime
