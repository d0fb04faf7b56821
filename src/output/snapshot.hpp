#pragma once
// Printing snapshots of sampled maps (`/// @sample`): BCC-style log2 and
// linear histograms, one per key, and key/value tables, in text, JSON or CSV.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "btf/render_plan.hpp"
#include "output/event_format.hpp"
#include "output/stack_records.hpp"
#include "output/value_format.hpp"
#include "package/sample_spec.hpp"

namespace ecli::output {

// BCC's print_log2_hist: rows from 0 to the last non-empty bucket, 40-star bars.
void append_log2_histogram(Buffer& out, const std::vector<uint64_t>& counts, std::string_view unit);
// The low end of linear bucket i, min + i*step, in 128 bits: a package's
// @sample may give any int64 min and step, and the map any number of slots.
inline __int128 linear_bucket_low(int64_t min, int64_t step, size_t i) {
  return static_cast<__int128>(min) + static_cast<__int128>(i) * step;
}
// The same layout for linear buckets [min + i*step, min + (i+1)*step).
void append_linear_histogram(Buffer& out, const std::vector<uint64_t>& counts, int64_t min, int64_t step,
                             std::string_view unit);

// The `slots` array of a histogram's value type; throws ecli::Error saying
// what is wrong when there is none, or it is not an array of integers.
const btf::FieldPlan& find_slots(const btf::RenderPlan& value);

struct SnapshotEntry {
  const uint8_t* key;
  const uint8_t* value;
};

class SnapshotWriter {
 public:
  // `sort_by` and `top` (from --sort / --top) override the annotation when
  // set. Throws ecli::Error when the types do not suit the kind.
  // `formats` (--format, @format) choose how fields read; none: by type alone.
  SnapshotWriter(std::string map_name, package::SampleSpec spec, btf::RenderPlan key, btf::RenderPlan value,
                 Format format, std::string sort_by = {}, int64_t top = -1, FieldFormats* formats = nullptr);
  // Sorts and limits `entries` (tables) and prints them.
  void write(Buffer& out, std::string_view time, std::vector<SnapshotEntry>& entries);
  const package::SampleSpec& spec() const { return spec_; }
  // Tables whose key or value holds stacks (issue 10): printed under each row
  // through `source`; with `folded`, added up there instead of printed.
  void set_stacks(StackSource* source, FoldedStacks* folded);
  // --containers / --container (issue 11): table rows whose key or value says
  // the process or cgroup get container columns, or are dropped when they
  // belong to another container. Histograms are left as they are.
  void set_containers(ContainerSource* source, bool columns, const std::string& only_id);
  bool knows_containers() const { return table_ && table_->knows_containers(0); }
  bool has_stacks() const { return table_ && has_stack_fields(table_->streams()[0].plan); }

 private:
  void write_histograms(Buffer& out, std::string_view time, const std::vector<SnapshotEntry>& entries) const;
  void write_table(Buffer& out, std::string_view time, std::vector<SnapshotEntry>& entries);
  std::vector<uint64_t> counts_of(const uint8_t* value) const;

  std::string map_name_;
  package::SampleSpec spec_;
  btf::RenderPlan key_, value_;
  Format format_;
  std::string sort_by_;
  int64_t limit_;
  const btf::FieldPlan* slots_ = nullptr;
  // Tables: key and value side by side in one row buffer, printed by an EventWriter.
  std::unique_ptr<EventWriter> table_;
  uint32_t value_offset_ = 0;
  std::vector<uint8_t> row_;
  bool csv_header_done_ = false;
  StackSource* stacks_ = nullptr;
  FoldedStacks* folded_ = nullptr;
  std::unique_ptr<StackFolder> folder_;
  int count_field_ = -1;  // stack tables: the row's count, in the value
};

}  // namespace ecli::output
