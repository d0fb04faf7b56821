#pragma once
// SEC("perf_event") programs: a sampling event opened with perf_event_open
// on every chosen CPU, the program attached to each (libbpf has no automatic
// attach point for this section).
//
// What is sampled comes from the command line (-F/--frequency, --period,
// --event, --cpu), else from the program's annotation
// `/// @perf {"event": "cpu-clock", "frequency": 99}` (or "period"), else
// cpu-clock at 49 Hz on every online CPU.
#include <cstdint>
#include <string>
#include <vector>

#include "package/package.hpp"

struct bpf_program;
struct bpf_link;

namespace ecli::runtime {

struct PerfEventOptions {
  double frequency = 0;  // -F/--frequency HZ; 0: the annotation's, else 49
  uint64_t period = 0;   // --period N (events between samples); excludes frequency
  std::string event;     // --event NAME; empty: the annotation's, else cpu-clock
  std::string cpus;      // --cpu LIST ("0,2-3"); empty: every online CPU
};

// Checks the options alone, before anything is loaded: the event name, the
// CPU list against the possible CPUs, the frequency (positive, at most
// /proc/sys/kernel/perf_event_max_sample_rate), not both frequency and
// period. Throws ecli::Error with a one-line message.
void check_perf_event_options(const PerfEventOptions& options);

// True for SEC("perf_event") programs.
bool is_perf_event_program(const struct bpf_program* prog);

// The event of one program: options first, then its @perf annotation
// (`info` may be null), then the defaults. A malformed annotation adds a
// line to `warnings` and is ignored.
struct PerfEventPlan {
  std::string event;   // perf's name, "cpu-clock"
  uint32_t type = 0;   // PERF_TYPE_SOFTWARE or PERF_TYPE_HARDWARE
  uint64_t config = 0;
  bool frequency_mode = true;
  uint64_t value = 49;  // Hz in frequency mode, else the period
  std::vector<int> cpus;
  bool cpus_given = false;  // --cpu: a CPU that fails is an error, not a skip
};
PerfEventPlan plan_perf_event(const package::Prog* info, const PerfEventOptions& options,
                              std::vector<std::string>& warnings);

// Opens the event on each CPU of `plan` and attaches `prog` to it; the links
// own the perf fds. A CPU that fails is skipped with a line in `report`;
// when none works, or the event needs hardware counters this machine lacks,
// it throws ecli::Error (the links made so far are destroyed first).
std::vector<struct bpf_link*> attach_perf_event(struct bpf_program* prog, const PerfEventPlan& plan,
                                                std::vector<std::string>& report);

// "cpu-clock at 49 Hz" / "cpu-clock every 100000 events" for the report.
std::string describe(const PerfEventPlan& plan);

}  // namespace ecli::runtime
