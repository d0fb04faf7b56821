#pragma once
// What `ecli run TARGET` accepts: a package.json, a BPF object (.o), or a BPF
// C source compiled on the fly by ecc into a cache keyed by its content; a
// package or object at an http(s) URL or in an OCI registry.
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "distribution/remote_package.hpp"
#include "package/package.hpp"
#include "runtime/trace_pipe.hpp"

namespace ecli::runtime {

struct Target {
  package::Package package;
  std::string usage_name;  // how --help names it
  // ecli's trace pipe, opened while ecc compiled a source that mentions
  // bpf_printk (TargetOptions::prepare_trace_pipe); not valid otherwise.
  std::future<std::unique_ptr<TracePipe>> trace_pipe;
};

// Where a target may come from and what it must prove before it is loaded.
struct TargetOptions {
  // Public keys (files or base64, from --verify-key): the target's signature
  // (FILE.minisig beside a file, URL.minisig, or the registry's signature
  // artifact) must be by one of them. The host policy's keys are checked too
  // when it requires signatures (distribution/minisign.hpp).
  std::vector<std::string> verify_keys;
  // URL and registry targets: --pull, --insecure, credentials.
  distribution::RemoteOptions remote;
  // A source that is compiled and mentions bpf_printk gets its trace pipe
  // opened beside the compile (a tracefs instance takes a few ms to make),
  // instead of after it.
  bool prepare_trace_pipe = false;
};

// TARGET is a file when one exists at that path, else an http(s):// URL, else
// a registry reference (distribution/oci_reference.hpp), else a missing file.
Target load_target(const std::string& target, bool verbose, const TargetOptions& options = {});

}  // namespace ecli::runtime
