#pragma once
// The distribution side of ecli's command line: push, pull, sign, keygen,
// and the options of `run` that say where a remote TARGET comes from
// (--verify-key, --pull, --insecure, --username, --password-stdin).
#include <CLI/CLI.hpp>

#include <optional>

#include "runtime/target.hpp"

namespace ecli::cli {

class DistributionCommands {
 public:
  // Adds the subcommands to APP and the source options to RUN, filling SOURCE.
  DistributionCommands(CLI::App& app, CLI::App& run, runtime::TargetOptions& source);
  // After parsing: the exit code when one of our subcommands ran, else nullopt
  // (then `run` goes on with SOURCE completed, e.g. the password read).
  std::optional<int> dispatch();

 private:
  int push();
  int pull();
  int sign();
  int keygen();

  runtime::TargetOptions& source_;
  CLI::App* run_ = nullptr;
  CLI::App *push_ = nullptr, *pull_ = nullptr, *sign_ = nullptr, *keygen_ = nullptr;
  std::string pull_policy_ = "missing";
  std::string username_;
  bool password_stdin_ = false;
  bool insecure_ = false;
  std::string package_, reference_, output_dir_ = ".";
  std::string secret_key_, key_basename_ = "minisign";
  bool key_password_stdin_ = false, no_password_ = false;
};

}  // namespace ecli::cli
