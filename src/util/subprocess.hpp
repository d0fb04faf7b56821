#pragma once
#include <string>
#include <vector>

namespace ecli {

struct ProcessResult {
  int exit_code = -1;  // -1 when the program could not be started or was killed
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv[0] (looked up in PATH) and waits; never throws for a non-zero exit.
ProcessResult run_process(const std::vector<std::string>& argv);

}  // namespace ecli
