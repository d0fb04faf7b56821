#include "output/snapshot.hpp"
#include "output/value_format.hpp"

#include <algorithm>
#include <cstring>

#include "util/error.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;
using package::SampleSpec;

void append_stars(Buffer& out, uint64_t value, uint64_t max, int width) {
  uint64_t stars = max ? std::min(value, max) * width / max : 0;
  for (uint64_t i = 0; i < stars; i++) out.push_back('*');
  for (uint64_t i = stars; i < static_cast<uint64_t>(width); i++) out.push_back(' ');
  if (value > max) out.push_back('+');
}

bool is_struct(const btf::RenderPlan& plan) {
  return plan.type_name.starts_with("struct") || plan.type_name.starts_with("union");
}

// A plan's value as JSON: an object for structs, the plain value otherwise.
void append_plan_json(Buffer& out, const btf::RenderPlan& plan, const uint8_t* data) {
  if (!is_struct(plan)) {
    append_value(out, plan.fields[0], data, Style::Json);
    return;
  }
  out.push_back('{');
  for (size_t i = 0; i < plan.fields.size(); i++) {
    if (i) out.push_back(',');
    append_json_string(out, plan.fields[i].name);
    out.push_back(':');
    append_value(out, plan.fields[i], data, Style::Json);
  }
  out.push_back('}');
}

long double sort_value(const FieldPlan& f, const uint8_t* base) {
  if ((f.kind == FieldKind::Signed128 || f.kind == FieldKind::Unsigned128) && !f.bit_size) {
    unsigned __int128 wide = 0;
    std::memcpy(&wide, base + f.offset, std::min<size_t>(f.size, 16));
    if (f.kind == FieldKind::Signed128) return static_cast<long double>(static_cast<__int128>(wide));
    return static_cast<long double>(wide);
  }
  uint64_t raw = 0;
  std::memcpy(&raw, base + f.offset, std::min<size_t>(f.size, 8));
  if (f.bit_size) raw = (raw >> f.bit_offset) & ((f.bit_size < 64 ? (uint64_t(1) << f.bit_size) : 0) - 1);
  if (f.kind == FieldKind::Signed && f.size < 8 && !f.bit_size && ((raw >> (f.size * 8 - 1)) & 1))
    raw |= ~uint64_t(0) << (f.size * 8);
  if (f.kind == FieldKind::Signed) return static_cast<long double>(static_cast<int64_t>(raw));
  if (f.kind == FieldKind::Float) {
    if (f.size == 4) {
      float x;
      std::memcpy(&x, base + f.offset, 4);
      return x;
    }
    double d;
    std::memcpy(&d, base + f.offset, 8);
    return d;
  }
  return static_cast<long double>(raw);
}

// BCC's bounds of log2 bucket i: 0 -> 1, 2 -> 3, 4 -> 7, ...
std::pair<uint64_t, uint64_t> log2_bounds(int i) {
  uint64_t low = i >= 63 ? (uint64_t(1) << 63) : (uint64_t(1) << (i + 1)) >> 1;
  uint64_t high = i >= 63 ? UINT64_MAX : (uint64_t(1) << (i + 1)) - 1;
  if (low == high) low -= 1;
  return {low, high};
}

bool is_numeric(const FieldPlan& f) {
  return f.kind == FieldKind::Signed || f.kind == FieldKind::Unsigned || f.kind == FieldKind::Float ||
         f.kind == FieldKind::Enum || f.kind == FieldKind::Bool || f.kind == FieldKind::Signed128 ||
         f.kind == FieldKind::Unsigned128;
}

}  // namespace

void append_log2_histogram(Buffer& out, const std::vector<uint64_t>& counts, std::string_view unit) {
  int idx_max = -1;
  uint64_t max = 0;
  for (size_t i = 0; i < counts.size(); i++) {
    if (counts[i] > 0) idx_max = static_cast<int>(i);
    max = std::max(max, counts[i]);
  }
  if (idx_max < 0) return;
  bool narrow = idx_max <= 32;
  fmt::format_to(std::back_inserter(out), "{:>{}}{:<{}} : count    distribution\n", "", narrow ? 5 : 15, unit,
                 narrow ? 19 : 29);
  int stars = narrow ? 40 : 20;
  int width = narrow ? 10 : 20;
  for (int i = 0; i <= idx_max; i++) {
    auto [low, high] = log2_bounds(i);
    fmt::format_to(std::back_inserter(out), "{:>{}} -> {:<{}} : {:<8} |", low, width, high, width, counts[i]);
    append_stars(out, counts[i], max, stars);
    append(out, "|\n");
  }
}

void append_linear_histogram(Buffer& out, const std::vector<uint64_t>& counts, int64_t min, int64_t step,
                             std::string_view unit) {
  int idx_min = -1, idx_max = -1;
  uint64_t max = 0;
  for (size_t i = 0; i < counts.size(); i++) {
    if (counts[i] > 0) {
      idx_max = static_cast<int>(i);
      if (idx_min < 0) idx_min = static_cast<int>(i);
    }
    max = std::max(max, counts[i]);
  }
  if (idx_max < 0) return;
  fmt::format_to(std::back_inserter(out), "{:>5}{:<19} : count    distribution\n", "", unit);
  for (int i = idx_min; i <= idx_max; i++) {
    __int128 low = linear_bucket_low(min, step, static_cast<size_t>(i));
    fmt::format_to(std::back_inserter(out), "{:>10} -> {:<10} : {:<8} |", low, low + step - 1, counts[i]);
    append_stars(out, counts[i], max, 40);
    append(out, "|\n");
  }
}

const FieldPlan& find_slots(const btf::RenderPlan& value) {
  for (const auto& f : value.fields) {
    if (f.name != "slots") continue;
    if (f.kind != FieldKind::Array || !f.element ||
        (f.element->kind != FieldKind::Unsigned && f.element->kind != FieldKind::Signed) ||
        (f.element->size != 4 && f.element->size != 8))
      throw Error("its value's slots field is " + f.c_type + ", not an array of __u32 or __u64");
    return f;
  }
  throw Error("its value (" + value.type_name + ") has no slots array to hold the histogram's buckets");
}

SnapshotWriter::SnapshotWriter(std::string map_name, SampleSpec spec, btf::RenderPlan key, btf::RenderPlan value,
                               Format format, std::string sort_by, int64_t top, FieldFormats* formats)
    : map_name_(std::move(map_name)),
      spec_(std::move(spec)),
      key_(std::move(key)),
      value_(std::move(value)),
      format_(format),
      sort_by_(sort_by.empty() ? spec_.sort_by : sort_by),
      limit_(top >= 0 ? top : spec_.limit) {
  FieldFormats by_type_alone;  // the auto rules still apply
  FieldFormats& chosen = formats ? *formats : by_type_alone;
  apply_formats(key_, map_name_, chosen, "key");  // values as people read them
  apply_formats(value_, map_name_, chosen, "value");
  if (spec_.kind != SampleSpec::Kind::Table) {
    slots_ = &find_slots(value_);
    return;
  }
  // One plan with the key's fields then the value's, over a row that holds both.
  value_offset_ = (key_.size + 7) / 8 * 8;
  StreamFormat row;
  row.name = map_name_;
  row.plan.type_name = map_name_;
  row.plan.size = value_offset_ + value_.size;
  auto add = [&](const btf::RenderPlan& plan, const char* scalar_name, uint32_t offset) {
    for (FieldPlan f : plan.fields) {
      if (!is_struct(plan)) f.name = scalar_name;
      f.offset += offset;
      if (f.stack_bytes_offset >= 0) f.stack_bytes_offset += static_cast<int32_t>(offset);
      row.plan.fields.push_back(std::move(f));
    }
  };
  add(key_, "key", 0);
  add(value_, "value", value_offset_);
  if (!sort_by_.empty()) {
    bool found = false;
    for (auto& f : row.plan.fields) found |= f.name == sort_by_;
    if (!found) throw Error("it has no field \"" + sort_by_ + "\" to sort by");
  }
  bind_stack_fields(row.plan, {});
  std::vector<StreamFormat> rows{std::move(row)};
  choose_columns(rows, {});
  table_ = std::make_unique<EventWriter>(format, std::move(rows), "map");
  row_.resize(value_offset_ + value_.size);
}

std::vector<uint64_t> SnapshotWriter::counts_of(const uint8_t* value) const {
  std::vector<uint64_t> counts(slots_->count);
  const uint8_t* p = value + slots_->offset;
  for (uint32_t i = 0; i < slots_->count; i++) {
    if (slots_->element->size == 8) {
      std::memcpy(&counts[i], p + i * 8, 8);
    } else {
      uint32_t c;
      std::memcpy(&c, p + i * 4, 4);
      counts[i] = c;
    }
  }
  return counts;
}

void SnapshotWriter::set_stacks(StackSource* source, FoldedStacks* folded) {
  if (!table_) return;
  stacks_ = source;
  folded_ = source ? folded : nullptr;
  table_->set_stack_source(source);
  const auto& plan = table_->streams()[0].plan;
  int count = StackFolder::count_field_of(plan, value_offset_);
  // Stacks are read as profiles are: the heaviest first, and a stack whose
  // count is back to zero (all its allocations freed) is not shown.
  if (sort_by_.empty() && count >= 0) sort_by_ = plan.fields[count].name;
  count_field_ = count;
  if (folded_) folder_ = std::make_unique<StackFolder>(plan, count);
}

void SnapshotWriter::set_containers(ContainerSource* source, bool columns, const std::string& only_id) {
  if (table_) table_->set_containers(source, columns, only_id);
}

void SnapshotWriter::write(Buffer& out, std::string_view time, std::vector<SnapshotEntry>& entries) {
  if (folder_) {  // --folded, --flamegraph: every entry counts, nothing is printed here
    for (const auto& e : entries) {
      std::memcpy(row_.data(), e.key, key_.size);
      std::memcpy(row_.data() + value_offset_, e.value, value_.size);
      folder_->add(*folded_, *stacks_, row_.data(), row_.size());
    }
    return;
  }
  if (stacks_ && count_field_ >= 0) {
    const FieldPlan& count = table_->streams()[0].plan.fields[count_field_];
    std::erase_if(entries, [&](const SnapshotEntry& e) {
      return load_unsigned(count, e.value + (count.offset - value_offset_)) == 0;
    });
  }
  if (table_) write_table(out, time, entries);
  else write_histograms(out, time, entries);
}

void SnapshotWriter::write_histograms(Buffer& out, std::string_view time,
                                      const std::vector<SnapshotEntry>& entries) const {
  bool linear = spec_.kind == SampleSpec::Kind::LinearHist;
  std::string unit = spec_.unit.empty() ? "(unit)" : spec_.unit;
  if (format_ != Format::Json) fmt::format_to(std::back_inserter(out), "\n{} {}\n", time, map_name_);
  for (const auto& e : entries) {
    std::vector<uint64_t> counts = counts_of(e.value);
    if (format_ == Format::Json) {
      append(out, "{\"time\":\"");
      append(out, time);
      append(out, "\",\"map\":");
      append_json_string(out, map_name_);
      append(out, ",\"key\":");
      append_plan_json(out, key_, e.key);
      for (const auto& f : value_.fields) {
        if (&f == slots_) continue;
        out.push_back(',');
        append_json_string(out, f.name);
        out.push_back(':');
        append_value(out, f, e.value, Style::Json);
      }
      append(out, ",\"buckets\":[");
      uint64_t total = 0;
      for (size_t i = 0; i < counts.size(); i++) {
        if (i) out.push_back(',');
        if (linear) {
          __int128 low = linear_bucket_low(spec_.min, spec_.step, i);
          fmt::format_to(std::back_inserter(out), "{{\"low\":{},\"high\":{},\"count\":{}}}", low,
                         low + spec_.step - 1, counts[i]);
        } else {
          auto [low, high] = log2_bounds(static_cast<int>(i));
          fmt::format_to(std::back_inserter(out), "{{\"low\":{},\"high\":{},\"count\":{}}}", low, high,
                         counts[i]);
        }
        total += counts[i];
      }
      fmt::format_to(std::back_inserter(out), "],\"total\":{}}}\n", total);
      continue;
    }
    // The key, then the value's other fields (a comm prints as text), then the histogram.
    if (is_struct(key_)) {
      for (const auto& f : key_.fields) {
        fmt::format_to(std::back_inserter(out), "{} = ", f.name);
        append_value(out, f, e.key, Style::Text);
        out.push_back('\n');
      }
    } else {
      append(out, "key = ");
      append_value(out, key_.fields[0], e.key, Style::Text);
      out.push_back('\n');
    }
    for (const auto& f : value_.fields) {
      if (&f == slots_) continue;
      fmt::format_to(std::back_inserter(out), "{} = ", f.name);
      append_value(out, f, e.value, Style::Text);
      out.push_back('\n');
    }
    out.push_back('\n');
    if (linear) append_linear_histogram(out, counts, spec_.min, spec_.step, unit);
    else append_log2_histogram(out, counts, unit);
    out.push_back('\n');
  }
}

void SnapshotWriter::write_table(Buffer& out, std::string_view time, std::vector<SnapshotEntry>& entries) {
  const auto& plan = table_->streams()[0].plan;
  // --container: other containers' rows go before sorting and --top.
  if (table_->filters_containers()) std::erase_if(entries, [&](const SnapshotEntry& e) {
    std::memcpy(row_.data(), e.key, key_.size);
    std::memcpy(row_.data() + value_offset_, e.value, value_.size);
    return !table_->keeps(0, row_.data(), row_.size());
  });
  if (!sort_by_.empty()) {
    const FieldPlan* field = nullptr;
    for (auto& f : plan.fields)
      if (f.name == sort_by_) field = &f;
    bool from_value = field->offset >= value_offset_;
    auto base = [&](const SnapshotEntry& e) { return from_value ? e.value - value_offset_ : e.key; };
    // Each row's sort key is worked out once, not in every comparison.
    std::vector<size_t> order(entries.size());
    for (size_t i = 0; i < order.size(); i++) order[i] = i;
    if (is_numeric(*field)) {
      std::vector<long double> keys(entries.size());
      for (size_t i = 0; i < entries.size(); i++) keys[i] = sort_value(*field, base(entries[i]));
      // Largest first, as top-N tables are read.
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] > keys[b]; });
    } else {
      std::vector<std::string> keys(entries.size());
      Buffer text;
      for (size_t i = 0; i < entries.size(); i++) {
        text.clear();
        append_value(text, *field, base(entries[i]), Style::Text);
        keys[i].assign(text.data(), text.size());
      }
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return keys[a] < keys[b]; });
    }
    std::vector<SnapshotEntry> sorted(entries.size());
    for (size_t i = 0; i < order.size(); i++) sorted[i] = entries[order[i]];
    entries.swap(sorted);
  }
  size_t shown = limit_ > 0 ? std::min<size_t>(entries.size(), static_cast<size_t>(limit_)) : entries.size();
  if (format_ == Format::Table) {
    fmt::format_to(std::back_inserter(out), "\n{} {}\n", time, map_name_);
    table_->header(out);
  } else if (format_ == Format::Csv && !csv_header_done_) {
    table_->header(out);
    csv_header_done_ = true;
  }
  for (size_t i = 0; i < shown; i++) {
    std::memcpy(row_.data(), entries[i].key, key_.size);
    std::memcpy(row_.data() + value_offset_, entries[i].value, value_.size);
    table_->row(out, time, 0, row_.data(), row_.size());
  }
}

}  // namespace ecli::output
