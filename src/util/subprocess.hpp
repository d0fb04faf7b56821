#pragma once
#include <sys/types.h>

#include <string>
#include <vector>

namespace ecli {

struct ProcessResult {
  int exit_code = -1;  // -1 when the program could not be started or was killed
  std::string output;  // stdout and stderr, interleaved
};

// A started program whose stdout and stderr come through one pipe.
struct SpawnedProcess {
  pid_t pid = -1;      // -1 when it could not be started (then `error` says why)
  int output_fd = -1;  // the pipe's read end, owned by the caller
  std::string error;
};

// Starts argv[0] (looked up in PATH) without ecli's blocked SIGINT/SIGTERM and
// ignored SIGPIPE. Throws only when no pipe can be made.
SpawnedProcess spawn_process(const std::vector<std::string>& argv);

// Runs argv[0] (looked up in PATH) and waits; never throws for a non-zero exit.
ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace ecli
