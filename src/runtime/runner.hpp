#pragma once
// `ecli run`: target -> options -> load -> attach -> stream until stopped.
#include <string>
#include <vector>

#include "runtime/event_streams.hpp"
#include "runtime/net_attach.hpp"
#include "runtime/perf_event_attach.hpp"
#include "runtime/target.hpp"
#include "runtime/uprobe_attach.hpp"

namespace ecli::runtime {

struct RunOptions {
  std::string target;
  std::vector<std::string> program_args;
  double duration = 0;      // seconds; 0 = until Ctrl-C / SIGTERM
  bool trace_pipe = true;   // stream bpf_printk output
  bool verbose = false;     // libbpf debug output
  StreamOptions output;     // how typed events print
  std::string sort_by;      // sampled tables: --sort
  int64_t top = -1;         // sampled tables: --top
  NetOptions net;           // tc, XDP and cgroup targets
  UserProbeOptions user_probes;  // --binary, --pid
  PerfEventOptions perf;    // perf_event programs: -F, --period, --event, --cpu
  std::string command;      // -c: run this command, trace it, stop when it exits
  int64_t interval_ms = 0;  // -i: print results every so often too (0: only at exit)
  bool clear = false;       // --clear: empty printed results after each interval
  bool per_cpu = false;     // --per-cpu: per-CPU maps by CPU, not summed
  std::string metrics;      // --metrics [ADDR:]PORT: serve /metrics (empty: no server)
  bool containers = false;  // --containers: container id and name on rows that say a pid or cgroup id
  std::string container;    // --container NAME|ID: only this container's events and rows
  bool strict = false;      // every program must load and attach (no alternatives, no skipping)
  std::vector<std::string> max_entries;  // "MAP=N" overrides
  TargetOptions source;     // --verify-key, --pull, --insecure, credentials
  // ecli's own option names ("-d", "--json"...), to explain one given after TARGET.
  std::vector<std::string> own_options;
};

// Returns the process exit code; throws ecli::Error for anything a user can fix.
int run(const RunOptions& options);

}  // namespace ecli::runtime
