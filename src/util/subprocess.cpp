#include "util/subprocess.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.hpp"

extern char** environ;

namespace ecli {

SpawnedProcess spawn_process(const std::vector<std::string>& argv) {
  SpawnedProcess process;
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) throw Error("pipe: " + errno_text(errno));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDERR_FILENO);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  // ecli blocks SIGINT/SIGTERM and ignores SIGPIPE; a compiler it starts must
  // not inherit that, so Ctrl-C reaches it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  int rc = posix_spawnp(&process.pid, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    process.pid = -1;
    process.error = "cannot run " + argv[0] + ": " + errno_text(rc);
    return process;
  }
  process.output_fd = pipefd[0];
  return process;
}

ProcessResult run_process(const std::vector<std::string>& argv) {
  ProcessResult result;
  SpawnedProcess process = spawn_process(argv);
  if (process.pid < 0) {
    result.output = process.error;
    return result;
  }
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(process.output_fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(process.output_fd);
  int status = 0;
  while (waitpid(process.pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace ecli
