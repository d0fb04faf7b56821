#include "support/process.hpp"

#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace ecli::test {

Process::Process(std::vector<std::string> argv, Options options) {
  int out[2], err[2], in[2];
  if (pipe2(err, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) throw std::runtime_error("pipe");
  int master = -1;
  if (options.pty) {
    int slave;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr)) throw std::runtime_error("openpty");
    out[0] = master;
    out[1] = slave;
  } else if (pipe2(out, O_CLOEXEC)) {
    throw std::runtime_error("pipe");
  }
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(in[0]);
  if (!options.stdin_text.empty()) (void)!write(in[1], options.stdin_text.data(), options.stdin_text.size());
  close(in[1]);
  readers_.emplace_back([this, fd = out[0]] { pump(fd, out_); });
  readers_.emplace_back([this, fd = err[0]] { pump(fd, err_); });
}

Process::~Process() {
  if (!exit_code_) {
    kill(-pid_, SIGKILL);
    kill(pid_, SIGKILL);
    wait_exit(5s);
  }
  join_readers();
}

void Process::join_readers() {
  for (auto& t : readers_)
    if (t.joinable()) t.join();
}

void Process::pump(int fd, std::string& buffer) {
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF, or EIO when a pty's last writer is gone
    std::lock_guard lock(mutex_);
    buffer.append(buf, static_cast<size_t>(n));
    changed_.notify_all();
  }
  close(fd);
  std::lock_guard lock(mutex_);
  --open_streams_;
  changed_.notify_all();
}

bool Process::wait_for(const std::string& text, std::string& buffer, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return buffer.find(text) != std::string::npos; });
}

bool Process::wait_stdout(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for(text, out_, timeout);
}
bool Process::wait_stderr(const std::string& text, std::chrono::milliseconds timeout) {
  return wait_for(text, err_, timeout);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Bounded: a grandchild that kept the pipes open must not hang the test.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, 2s, [&] { return open_streams_ == 0; });
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

void Process::signal(int sig) { kill(pid_, sig); }

std::string Process::out() {
  std::lock_guard lock(mutex_);
  return out_;
}
std::string Process::err() {
  std::lock_guard lock(mutex_);
  return err_;
}

Result run(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  Process p(argv);
  auto code = p.wait_exit(timeout);
  if (!code) {
    p.signal(SIGKILL);
    code = p.wait_exit(5s);
  }
  p.join_readers();
  return {code.value_or(-1), p.out(), p.err()};
}

Trigger::Trigger(std::function<void()> action) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC)) throw std::runtime_error("pipe");
  pid_ = fork();
  if (pid_ == 0) {
    close(fds[1]);
    char c;
    if (read(fds[0], &c, 1) == 1) action();
    _exit(0);
  }
  close(fds[0]);
  go_fd_ = fds[1];
}

void Trigger::go() {
  if (go_fd_ >= 0) {
    (void)!write(go_fd_, "g", 1);
    close(go_fd_);
    go_fd_ = -1;
  }
}

bool Trigger::wait() {
  go();
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) {
    pid_ = -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return false;
}

Trigger::~Trigger() {
  if (go_fd_ >= 0) close(go_fd_);  // the child reads EOF and exits without acting
  if (pid_ > 0) waitpid(pid_, nullptr, 0);
}

}  // namespace ecli::test
