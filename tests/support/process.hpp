#pragma once
// A child process for tests: stdout and stderr collected in the background,
// waits with deadlines, and a kill in the destructor so that a failing test
// never leaves a tracer running.
#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace ecli::test {

using namespace std::chrono_literals;

class Process {
 public:
  struct Options {
    bool pty = false;  // stdout is a terminal (stderr stays a pipe)
    std::string stdin_text;
  };
  explicit Process(std::vector<std::string> argv) : Process(std::move(argv), Options{}) {}
  Process(std::vector<std::string> argv, Options options);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // True once `text` appears on that stream before the deadline.
  bool wait_stdout(const std::string& text, std::chrono::milliseconds timeout = 10s);
  bool wait_stderr(const std::string& text, std::chrono::milliseconds timeout = 10s);
  // Exit code (128+signal when killed); nullopt on timeout. Once the child is reaped it also
  // waits (briefly) until its output is all read, so out() and err() hold its last lines.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 20s);
  void signal(int sig);
  // Waits until both streams reached EOF (after the child and its children exited).
  void join_readers();
  std::string out();
  std::string err();

 private:
  bool wait_for(const std::string& text, std::string& buffer, std::chrono::milliseconds timeout);
  void pump(int fd, std::string& buffer);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_, err_;
  int open_streams_ = 2;
  std::vector<std::thread> readers_;
};

// Runs to completion (with a timeout) and returns exit code and output.
struct Result {
  int code;
  std::string out, err;
};
Result run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 60s);

// A forked child that waits until `go()` and then runs `action` and exits;
// its pid is known before it does anything, so tracers can filter on it.
class Trigger {
 public:
  explicit Trigger(std::function<void()> action);
  ~Trigger();
  pid_t pid() const { return pid_; }
  void go();
  // Waits for the child to finish (true when it exited 0).
  bool wait();

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
};

}  // namespace ecli::test
