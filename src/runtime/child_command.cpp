#include "runtime/child_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "util/error.hpp"

namespace ecli::runtime {
namespace {

bool is_executable_file(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (access(name.c_str(), F_OK) != 0) throw Error(fmt::format("cannot run '{}': {}", name, errno_text(errno)));
    if (!is_executable_file(name)) throw Error(fmt::format("cannot run '{}': not an executable file", name));
    return name;
  }
  const char* env = std::getenv("PATH");
  std::string path = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
  for (size_t start = 0; start <= path.size();) {
    size_t colon = std::min(path.find(':', start), path.size());
    std::string dir = path.substr(start, colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = colon + 1;
  }
  throw Error(fmt::format("cannot run '{}': not found in PATH", name));
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

std::vector<std::string> split_command_words(const std::string& command) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < command.size(); i++) {
    char c = command[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = command.find('\'', i + 1);
      if (end == std::string::npos) throw Error(fmt::format("-c {}: a ' is not closed", command));
      word += command.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      size_t j = i + 1;
      for (; j < command.size() && command[j] != '"'; j++) {
        if (command[j] == '\\' && j + 1 < command.size() && std::strchr("\"\\$`", command[j + 1])) j++;
        word += command[j];
      }
      if (j >= command.size()) throw Error(fmt::format("-c {}: a \" is not closed", command));
      i = j;
    } else if (c == '\\') {
      if (i + 1 < command.size()) word += command[++i];
    } else if (std::strchr("|&;<>()$`", c)) {
      throw Error(fmt::format("-c {}: '{}' is shell syntax, and the command is not run by a shell; use -c \"sh -c "
                              "'...'\" (or quote it)",
                              command, c));
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) throw Error("-c: the command is empty");
  return words;
}

ChildCommand::ChildCommand(const std::string& command, bool verbose) {
  argv_ = split_command_words(command);
  executable_ = find_program(argv_[0]);

  // SIGCHLD is read from a signalfd: blocked first, so that none is lost.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &chld, nullptr);
  sigchld_fd_ = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigchld_fd_ < 0) throw Error("signalfd: " + errno_text(errno));

  int go[2], error[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(error, O_CLOEXEC) != 0) throw Error("pipe: " + errno_text(errno));
  // Everything the child needs, made before fork: it must not allocate.
  std::vector<char*> args;
  for (auto& a : argv_) args.push_back(a.data());
  args.push_back(nullptr);
  const char* path = executable_.c_str();
  // The name exec will give it (the file's name, 15 bytes), taken at once: a
  // sample or event between the release and the end of execve is the
  // command's, not one of a process named "ecli".
  char comm[16] = {};
  const char* slash = std::strrchr(path, '/');
  std::strncpy(comm, slash ? slash + 1 : path, sizeof comm - 1);

  pid_ = fork();
  if (pid_ < 0) {
    int err = errno;
    close(go[0]), close(go[1]), close(error[0]), close(error[1]);
    throw Error("fork: " + errno_text(err));
  }
  if (pid_ == 0) {
    prctl(PR_SET_NAME, comm);
    close(go[1]);
    close(error[0]);
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);  // fails harmlessly for SIGKILL, SIGSTOP, RT internals
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    char byte;
    ssize_t n;
    while ((n = read(go[0], &byte, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) _exit(127);  // ecli went away before releasing it
    close(go[0]);
    execv(path, args.data());
    int err = errno;
    ssize_t ignored = write(error[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(go[0]);
  close(error[1]);
  go_fd_ = go[1];
  error_fd_ = error[0];

  if (ptrace(PTRACE_SEIZE, pid_, nullptr, reinterpret_cast<void*>(PTRACE_O_TRACEEXIT)) == 0) {
    traced_ = true;
  } else if (verbose) {
    std::cerr << fmt::format("ecli: cannot trace the command (PTRACE_SEIZE: {}); its memory mappings are read "
                             "only when it starts, not when it exits\n",
                             errno_text(errno));
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

ChildCommand::~ChildCommand() {
  try {
    stop();
  } catch (...) {
  }
  close_fd(go_fd_);
  close_fd(error_fd_);
  close_fd(pidfd_);
  close_fd(sigchld_fd_);
}

void ChildCommand::release() {
  if (released_ || status_) return;
  released_ = true;
  char byte = 1;
  ssize_t n = write(go_fd_, &byte, 1);
  close_fd(go_fd_);
  if (n != 1) {
    on_ready();  // it died while held (Ctrl-C on the terminal)
    return;
  }
  // The error pipe closes when exec succeeds, or carries errno. Stops (a
  // signal arriving meanwhile) are handled while waiting.
  int err = 0;
  size_t got = 0;
  for (;;) {
    pollfd fds[2] = {{error_fd_, POLLIN, 0}, {sigchld_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      throw Error("poll: " + errno_text(errno));
    }
    if (fds[0].revents) {
      ssize_t r = read(error_fd_, reinterpret_cast<char*>(&err) + got, sizeof err - got);
      if (r < 0 && errno == EINTR) continue;
      if (r > 0 && (got += static_cast<size_t>(r)) < sizeof err) continue;
      break;  // EOF: exec succeeded, or the full errno
    }
    if (fds[1].revents && !on_ready()) break;
  }
  close_fd(error_fd_);
  if (got == sizeof err) {
    reap_now();
    throw Error(fmt::format("cannot run '{}': {}", executable_, errno_text(err)));
  }
  if (!status_ && on_mappings) on_mappings(pid_);
}

std::vector<int> ChildCommand::watch_fds() const {
  std::vector<int> fds;
  if (pidfd_ >= 0) fds.push_back(pidfd_);
  if (sigchld_fd_ >= 0) fds.push_back(sigchld_fd_);
  return fds;
}

bool ChildCommand::on_ready() {
  signalfd_siginfo info;
  while (sigchld_fd_ >= 0 && read(sigchld_fd_, &info, sizeof info) == sizeof info) {
  }
  while (!status_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG | __WALL);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      status_ = 0;  // reaped elsewhere: gone all the same
      break;
    }
    handle(status);
  }
  return !status_;
}

void ChildCommand::handle(int status) {
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    status_ = status;
    return;
  }
  if (!WIFSTOPPED(status) || !traced_) return;
  int event = status >> 16;
  int sig = WSTOPSIG(status);
  if (event == PTRACE_EVENT_EXIT) {
    if (on_mappings) on_mappings(pid_);  // /proc/PID/maps is still there
    ptrace(PTRACE_CONT, pid_, nullptr, nullptr);
  } else if (event == PTRACE_EVENT_STOP) {
    if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
      ptrace(PTRACE_LISTEN, pid_, nullptr, nullptr);  // group-stop: stay stopped until SIGCONT
    else
      ptrace(PTRACE_CONT, pid_, nullptr, nullptr);
  } else if (event == 0) {
    ptrace(PTRACE_CONT, pid_, nullptr, reinterpret_cast<void*>(static_cast<long>(sig)));  // deliver it
  } else {
    ptrace(PTRACE_CONT, pid_, nullptr, nullptr);
  }
}

void ChildCommand::reap_now() {
  while (!status_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, __WALL);
    if (r < 0) {
      if (errno == EINTR) continue;
      status_ = 0;
      break;
    }
    handle(status);
  }
}

void ChildCommand::stop(int grace_ms) {
  if (pid_ <= 0 || status_) return;
  on_ready();
  if (status_) return;
  if (!released_) {
    kill(pid_, SIGKILL);  // it never ran the command
    reap_now();
    return;
  }
  kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  bool killed = false;
  while (on_ready()) {
    int left = -1;
    if (!killed) {
      left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count());
      if (left <= 0) {
        kill(pid_, SIGKILL);
        killed = true;
        continue;
      }
    }
    pollfd fds[2] = {{sigchld_fd_, POLLIN, 0}, {pidfd_, POLLIN, 0}};
    poll(fds, pidfd_ >= 0 ? 2 : 1, left);
  }
}

std::string ChildCommand::describe_status() const {
  if (!status_) return "is running";
  if (WIFEXITED(*status_)) return fmt::format("exited with status {}", WEXITSTATUS(*status_));
  if (WIFSIGNALED(*status_))
    return fmt::format("was killed by signal {} ({})", WTERMSIG(*status_), strsignal(WTERMSIG(*status_)));
  return "ended";
}

}  // namespace ecli::runtime
