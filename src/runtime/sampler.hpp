#pragma once
// Maps marked `/// @sample`: read on their own interval, printed as
// histograms or tables, emptied after each print when `clear_map` says so,
// and printed one last time when ecli stops.
//
// Results without annotations, as bpftrace prints its maps: maps whose role
// (found by ecc, DESIGN.md §5) is "result" and global arrays and counters the
// programs write are printed when ecli stops, and every --interval. A value
// that holds a `slots` array prints as a log2 histogram per key, others as a
// table sorted largest first; per-CPU values are summed over CPUs.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "output/metrics.hpp"
#include "output/snapshot.hpp"
#include "package/package.hpp"

namespace ecli::runtime {

class BpfObject;
class StackResolver;

struct SampleOptions {
  output::Format format = output::Format::Table;
  std::string sort_by;  // --sort
  int64_t top = -1;     // --top
  bool verbose = false; // timing of each snapshot on stderr
  int64_t interval_ms = 0;  // -i: print results this often too (0: only at exit)
  bool clear = false;       // --clear: empty each result after each interval print
  bool per_cpu = false;     // --per-cpu: a row per CPU for per-CPU maps instead of their sum
  output::FieldFormats* formats = nullptr;  // --format, @format; misfits are added to it
  StackResolver* stacks = nullptr;          // resolves stack fields of keys and values (issue 10)
  output::FoldedStacks* folded = nullptr;   // --folded/--flamegraph: maps with stacks are added up here, at exit
  bool metrics = false;                     // --metrics: every map is also exported (append_metrics)
};

class Sampler {
 public:
  // Maps whose annotation or types do not fit are reported (which map, why)
  // and left out; the rest are sampled.
  Sampler(BpfObject& object, const package::Meta& meta, const SampleOptions& options);
  bool empty() const { return maps_.empty(); }
  int next_timeout_ms() const;
  // Prints the snapshots that are due; false when stdout is gone.
  bool tick();
  // One last snapshot of every map.
  bool snapshot_all();
  // --containers / --container (issue 11): table rows that say a pid or cgroup id.
  void set_containers(output::ContainerSource* source, bool columns, const std::string& only_id);
  // Printed maps whose rows say no pid or cgroup id (histograms included).
  std::vector<std::string> maps_without_containers() const;
  bool any_map_with_containers() const;
  // --metrics: every map read now (never emptied by this) as Prometheus text.
  void append_metrics(output::Buffer& out);

 private:
  struct Sampled {
    std::string name;
    int fd = -1;
    bool hash = false;  // hash maps can be read and emptied in one batch call
    bool batch = true;  // cleared when the kernel refuses batch operations
    bool skip_zeros = false;  // arrays: an all-zero slot is no result
    uint32_t key_size = 0, value_size = 0, max_entries = 0;
    uint32_t cpus = 0;         // per-CPU maps: values are read per CPU, then summed
    uint32_t cpu_stride = 0;   // bytes of one CPU's copy of a value
    bool each_cpu = false;     // --per-cpu: keys get a cpu field, values are not summed
    std::vector<uint8_t> cpu_keys;
    std::vector<std::pair<uint32_t, uint32_t>> counters;  // (offset, size) of the integers to sum
    // Global results: a slice of a mmaped data section instead of a map.
    uint8_t* global = nullptr;
    uint32_t element_size = 0;
    bool exit_only = false;
    std::unique_ptr<output::SnapshotWriter> writer;
    std::unique_ptr<output::MapMetrics> metrics;  // --metrics
    std::chrono::steady_clock::time_point due;
    std::vector<uint8_t> keys, values, per_cpu;
  };
  void add_result_map(BpfObject& object, const package::Map& m, const SampleOptions& options);
  std::unique_ptr<output::SnapshotWriter> make_writer(const std::string& name, const package::SampleSpec& spec,
                                                      btf::RenderPlan key, btf::RenderPlan value,
                                                      const SampleOptions& options);
  void add_global_results(BpfObject& object, const package::Meta& meta, const SampleOptions& options);
  bool snapshot(Sampled& s, bool final);
  // Reads the map (emptying it when `clear`); the entries point into `s`.
  std::vector<output::SnapshotEntry> read_rows(Sampled& s, bool clear, size_t& read);
  void add_metrics(Sampled& s, const std::string& help, const package::SampleSpec& spec, const btf::RenderPlan& key,
                   const btf::RenderPlan& value, const SampleOptions& options);
  size_t read_global(Sampled& s, bool clear);
  void sum_per_cpu(Sampled& s, size_t n);
  size_t split_per_cpu(Sampled& s, size_t n);
  size_t read_entries(Sampled& s, bool clear);
  size_t read_entries_one_by_one(Sampled& s, bool clear);

  std::vector<Sampled> maps_;
  bool verbose_ = false;
  StackResolver* stacks_ = nullptr;
  output::Buffer out_;
};

}  // namespace ecli::runtime
