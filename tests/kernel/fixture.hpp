#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"

namespace ecli::test {

namespace fs = std::filesystem;

// A temporary folder removed at the end of the test.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

std::string ecli_bin();
std::string ecc_bin();
fs::path example_source(const std::string& name);  // examples/NAME/NAME.bpf.c

// package.json of an example, compiled once per test run.
std::string example_package(const std::string& name);
// package.json of tests/data/NAME.bpf.c, compiled once per test run.
std::string test_package(const std::string& name);

// `ecli run ARGS...` as a running process.
std::vector<std::string> ecli_run(std::vector<std::string> args);

std::string read_text(const fs::path& path);
// The lines of `text` (without their newlines), and each non-empty one parsed
// as JSON (a line that is not JSON throws, failing the test).
std::vector<std::string> split_lines(const std::string& text);
std::vector<nlohmann::json> json_lines(const std::string& text);
// The JSON rows (or histograms) that ecli printed for one map, global or stream.
std::vector<nlohmann::json> rows_of(const std::string& out, const std::string& map);
void write_text(const fs::path& path, const std::string& text);

// Kernel tests need root; without it they are skipped, saying so.
#define REQUIRE_ROOT()                                                          \
  do {                                                                          \
    if (geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";      \
  } while (0)

}  // namespace ecli::test
