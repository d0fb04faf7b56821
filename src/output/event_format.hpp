#pragma once
// Printing decoded events: the value of any planned field as text or JSON, and
// the three row formats (table, JSON lines, CSV). Everything appends to one
// growing buffer that the caller writes out in batches (DESIGN.md §3: no
// per-event allocation, no iostreams).
#include <cstdint>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "btf/render_plan.hpp"
#include "output/container_columns.hpp"

namespace ecli::output {

using Buffer = fmt::memory_buffer;

inline void append(Buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

enum class Style { Text, Json };

// Appends the value of `field`; `base` points at the enclosing struct, of which
// `avail` bytes can be read. A field that does not fit in them, or that cannot
// be decoded, prints a placeholder ("?", JSON null) and the caller goes on.
void append_value(Buffer& out, const btf::FieldPlan& field, const uint8_t* base, Style style,
                  size_t avail = SIZE_MAX);
// A JSON string literal of arbitrary bytes: always valid JSON (bytes that are
// not UTF-8 are escaped as \u00XX, i.e. read as Latin-1).
void append_json_string(Buffer& out, std::string_view bytes);
// The integer at `p` as `field` lays it out (bitfields included, wider ones
// cut to 64 bits), and the same sign-extended from the field's width.
uint64_t load_unsigned(const btf::FieldPlan& field, const uint8_t* p);
int64_t load_signed(const btf::FieldPlan& field, const uint8_t* p);

// One stream of events of one type (a ring buffer or perf event array).
struct StreamFormat {
  std::string name;  // the map's name, shown when there are several streams
  btf::RenderPlan plan;
  std::vector<size_t> columns;  // indices into plan.fields, in display order
  std::vector<int> widths;      // table column widths, per column
};

enum class Format { Table, Json, Csv };

class StackSource;  // output/stack_records.hpp

// Chooses the columns (all, or `fields` in that order) and their widths.
// Throws ecli::Error for a name in `fields` that no stream has.
void choose_columns(std::vector<StreamFormat>& streams, const std::vector<std::string>& fields);

class EventWriter {
 public:
  // `label` names the stream in every row ("map" for snapshots); by default
  // rows carry a "stream" only when there are several streams.
  EventWriter(Format format, std::vector<StreamFormat> streams, std::string label = {});
  // Header lines, once before the first event.
  void header(Buffer& out) const;
  // One row. `time` is "HH:MM:SS". An event shorter than the type is padded
  // with zeros (the caller reports that once). A field that cannot be decoded
  // prints a placeholder; the rest of the row is printed as usual.
  // With a container filter, a row of another container prints nothing.
  void row(Buffer& out, std::string_view time, size_t stream, const uint8_t* data, size_t size) const;
  const std::vector<StreamFormat>& streams() const { return streams_; }
  // Resolves the stack fields of the rows (issue 10): tables print them under
  // the row, one frame per line; JSON as arrays of frames; CSV as one cell.
  // Without a source they print as the numbers they are.
  void set_stack_source(StackSource* source) { stacks_ = source; }
  // Containers (issue 11): with `columns`, rows whose struct says the process
  // or cgroup get container_id and container_name after the time; with
  // `only_id`, rows of other containers are dropped. Streams that say neither
  // are printed as before (unfiltered).
  void set_containers(ContainerSource* source, bool columns, std::string only_id);
  // Whether the stream's rows can be matched to containers.
  bool knows_containers(size_t stream) const { return stream < container_keys_.size() && container_keys_[stream].any(); }
  bool filters_containers() const { return containers_ && !container_filter_.empty(); }
  // False for a row that the container filter drops.
  bool keeps(size_t stream, const uint8_t* data, size_t size) const;

 private:
  Format format_;
  std::vector<StreamFormat> streams_;
  bool several_;
  std::string label_;
  bool json_label_ = false;
  int stream_width_ = 0;
  mutable std::vector<uint8_t> padded_;  // a short event, zero-filled to its type's size
  StackSource* stacks_ = nullptr;
  bool under_row(const btf::FieldPlan& f) const;
  size_t last_table_column(const StreamFormat& s) const;
  void append_stacks_below(Buffer& out, const StreamFormat& s, const uint8_t* data, size_t size) const;
  ContainerSource* containers_ = nullptr;
  bool container_columns_ = false;
  std::string container_filter_;
  std::vector<ContainerKey> container_keys_;  // per stream
  int container_name_width_ = 16;
  bool container_columns_of(size_t stream) const { return container_columns_ && knows_containers(stream); }
  void append_container_cells(Buffer& out, const ContainerLabel* label) const;
};

}  // namespace ecli::output
