#pragma once
// Maps marked `/// @sample`: read on their own interval, printed as
// histograms or tables, emptied after each print when `clear_map` says so,
// and printed one last time when ecli stops.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "output/snapshot.hpp"
#include "package/package.hpp"

namespace ecli::runtime {

class BpfObject;

struct SampleOptions {
  output::Format format = output::Format::Table;
  std::string sort_by;  // --sort
  int64_t top = -1;     // --top
  bool verbose = false; // timing of each snapshot on stderr
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

 private:
  struct Sampled {
    std::string name;
    int fd = -1;
    bool hash = false;  // hash maps can be read and emptied in one batch call
    bool batch = true;  // cleared when the kernel refuses batch operations
    uint32_t key_size = 0, value_size = 0, max_entries = 0;
    std::unique_ptr<output::SnapshotWriter> writer;
    std::chrono::steady_clock::time_point due;
    std::vector<uint8_t> keys, values;
  };
  bool snapshot(Sampled& s);
  size_t read_entries(Sampled& s, bool clear);
  size_t read_entries_one_by_one(Sampled& s, bool clear);

  std::vector<Sampled> maps_;
  bool verbose_ = false;
  output::Buffer out_;
};

}  // namespace ecli::runtime
