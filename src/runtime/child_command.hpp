#pragma once
// `ecli run -c "CMD ARGS"`: the traced command, as bpftrace's -c.
//
// The command is split into words like a shell does (quotes, backslashes),
// but not run through a shell: `-c "sh -c '...'"` is how to use pipes,
// redirections or variables. Its program is looked up on PATH at once, so
// a missing one is an error before anything is loaded.
//
// The child is forked held before exec (it blocks reading a pipe) so that
// its pid can be the process filter while programs load and attach;
// release() lets it exec. It keeps ecli's stdin, stdout and stderr, and gets
// a clean signal mask and default signal dispositions.
//
// ecli traces it with PTRACE_SEIZE and PTRACE_O_TRACEEXIT, so that it is told
// just before the child exits, while /proc/PID/maps can still be read
// (on_mappings). Signals and job-control stops pass through untouched.
#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ecli::runtime {

// Shell-like word splitting: spaces separate words; '...' keeps everything,
// "..." keeps all but \" \\ \$ \`, a backslash outside quotes escapes the next
// character. Throws ecli::Error for an unterminated quote.
std::vector<std::string> split_command_words(const std::string& command);

class ChildCommand {
 public:
  // Splits `command`, finds its program on PATH ("cannot run 'nosuch': not
  // found in PATH") and forks the held child. Blocks SIGCHLD in the calling
  // thread (it is read from a signalfd): construct it before starting threads.
  // `verbose`: say on stderr when the exit stop is not available.
  explicit ChildCommand(const std::string& command, bool verbose = false);
  // Ends the child if it still runs (stop()) and reaps it.
  ~ChildCommand();
  ChildCommand(const ChildCommand&) = delete;
  ChildCommand& operator=(const ChildCommand&) = delete;

  pid_t pid() const { return pid_; }
  // The program's resolved path (/usr/bin/sh).
  const std::string& executable() const { return executable_; }
  const std::vector<std::string>& argv() const { return argv_; }

  // Called with pid() once right after the exec succeeded, and again just
  // before the child exits (its exit stop), while /proc/PID/maps is still
  // readable. Not called at exit when ptrace is not available.
  std::function<void(pid_t)> on_mappings;

  // Lets the child exec the command; throws ecli::Error when exec fails.
  void release();

  // File descriptors to watch (a pidfd, and a signalfd for SIGCHLD); when one
  // is readable call on_ready(), which handles the child's stops and returns
  // false once it has exited (the run should end).
  std::vector<int> watch_fds() const;
  bool on_ready();

  // SIGTERM (SIGKILL for a held child, or after `grace_ms`), then reaps it.
  void stop(int grace_ms = 2000);

  // The wait status once the child has been reaped.
  std::optional<int> status() const { return status_; }
  // "exited with status 0", "was killed by signal 15 (Terminated)".
  std::string describe_status() const;

 private:
  void handle(int status);
  void reap_now();

  std::vector<std::string> argv_;
  std::string executable_;
  pid_t pid_ = -1;
  int go_fd_ = -1;      // write end of the pipe the held child reads
  int error_fd_ = -1;   // read end of the CLOEXEC pipe the child writes errno into when exec fails
  int pidfd_ = -1;
  int sigchld_fd_ = -1;
  bool traced_ = false;
  bool released_ = false;
  std::optional<int> status_;
};

}  // namespace ecli::runtime
