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
  // Runs until stopped; `duration_seconds` <= 0 means no limit.
  void run(double duration_seconds);
  // True when the loop ended because a signal arrived.
  bool stopped_by_signal() const { return signal_seen_; }

 private:
  int signal_fd_ = -1;
  bool signal_seen_ = false;
  std::vector<pollfd> fds_;
  std::vector<std::function<bool()>> handlers_;
};

// Writes all of `data` to stdout; false when stdout is gone (EPIPE).
bool write_stdout(std::string_view data);

}  // namespace ecli::runtime
