#include "output/metrics.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <set>

#include <fmt/format.h>

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;
using package::SampleSpec;

bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

bool is_struct(const btf::RenderPlan& plan) {
  return plan.type_name.starts_with("struct") || plan.type_name.starts_with("union");
}

bool is_number(const FieldPlan& f) {
  return f.kind == FieldKind::Signed || f.kind == FieldKind::Unsigned || f.kind == FieldKind::Bool ||
         (f.kind == FieldKind::Float && !f.bit_size);
}

bool is_text(const FieldPlan& f) {
  return f.kind == FieldKind::String || f.kind == FieldKind::Char || f.kind == FieldKind::Enum;
}

std::string number_text(const FieldPlan& f, const uint8_t* base) {
  if (f.kind == FieldKind::Float) {
    if (f.size == 4) {
      float v;
      std::memcpy(&v, base + f.offset, 4);
      return fmt::format("{}", v);
    }
    double v = 0;
    std::memcpy(&v, base + f.offset, std::min<uint32_t>(f.size, 8));
    return fmt::format("{}", v);
  }
  if (f.kind == FieldKind::Bool) return load_unsigned(f, base + f.offset) ? "1" : "0";
  if (f.kind == FieldKind::Signed) return fmt::format("{}", load_signed(f, base + f.offset));
  return fmt::format("{}", load_unsigned(f, base + f.offset));
}

std::string text_of(const FieldPlan& f, const uint8_t* base) {
  Buffer b;
  append_value(b, f, base, Style::Text);
  return std::string(b.data(), b.size());
}

}  // namespace

std::string metric_name(std::string_view raw) {
  std::string out = "ecli_";
  for (char c : raw) out.push_back(name_char(c, false) || c == ':' ? c : '_');
  return out;
}

std::string label_name(std::string_view raw) {
  std::string out;
  for (char c : raw) out.push_back(name_char(c, out.empty()) ? c : '_');
  if (out.empty()) out = "key";
  while (out.starts_with("__")) out.erase(0, 1);  // reserved for Prometheus' own labels
  return out;
}

void append_label_value(Buffer& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') append(out, "\\\\");
    else if (c == '"') append(out, "\\\"");
    else if (c == '\n') append(out, "\\n");
    else out.push_back(c);
  }
}

void append_family_header(Buffer& out, std::string_view name, std::string_view help, std::string_view type) {
  fmt::format_to(std::back_inserter(out), "# HELP {} ", name);
  for (char c : help) {
    if (c == '\\') append(out, "\\\\");
    else if (c == '\n') append(out, "\\n");
    else out.push_back(c);
  }
  fmt::format_to(std::back_inserter(out), "\n# TYPE {} {}\n", name, type);
}

void append_sample(Buffer& out, std::string_view name, const Labels& labels, std::string_view value) {
  append(out, name);
  if (!labels.empty()) {
    out.push_back('{');
    for (size_t i = 0; i < labels.size(); i++) {
      if (i) out.push_back(',');
      append(out, labels[i].first);
      append(out, "=\"");
      append_label_value(out, labels[i].second);
      out.push_back('"');
    }
    out.push_back('}');
  }
  out.push_back(' ');
  append(out, value);
  out.push_back('\n');
}

std::vector<std::string> log2_upper_bounds(size_t buckets) {
  std::vector<std::string> out;
  for (size_t i = 0; i < buckets; i++)
    out.push_back(i >= 63 ? "18446744073709551615" : fmt::format("{}", (uint64_t(1) << (i + 1)) - 1));
  return out;
}

std::vector<std::string> linear_upper_bounds(size_t buckets, int64_t min, int64_t step) {
  std::vector<std::string> out;
  for (size_t i = 0; i < buckets; i++) out.push_back(fmt::format("{}", linear_bucket_low(min, step, i + 1) - 1));
  return out;
}

void append_histogram(Buffer& out, std::string_view name, const Labels& labels, const std::vector<uint64_t>& counts,
                      const std::vector<std::string>& upper_bounds) {
  std::string bucket = std::string(name) + "_bucket";
  Labels with_le = labels;
  with_le.emplace_back("le", "");
  uint64_t total = 0;
  for (size_t i = 0; i < counts.size() && i < upper_bounds.size(); i++) {
    total += counts[i];
    with_le.back().second = upper_bounds[i];
    append_sample(out, bucket, with_le, fmt::format("{}", total));
  }
  for (size_t i = upper_bounds.size(); i < counts.size(); i++) total += counts[i];
  with_le.back().second = "+Inf";
  append_sample(out, bucket, with_le, fmt::format("{}", total));
  append_sample(out, std::string(name) + "_count", labels, fmt::format("{}", total));
}

MapMetrics::MapMetrics(std::string map_name, std::string help, SampleSpec spec, btf::RenderPlan key,
                       btf::RenderPlan value)
    : name_(metric_name(map_name)), map_name_(std::move(map_name)), help_(std::move(help)), spec_(std::move(spec)),
      key_(std::move(key)), value_(std::move(value)) {
  if (spec_.kind != SampleSpec::Kind::Table) slots_ = &find_slots(value_);
  scalar_value_ = !is_struct(value_) && value_.fields.size() == 1;
  for (const auto& f : value_.fields) {
    if (&f == slots_) continue;
    if (is_number(f)) numbers_.push_back(&f);
    else if (is_text(f)) texts_.push_back(&f);
  }
}

Labels MapMetrics::labels_of(const SnapshotEntry& e) const {
  Labels labels;
  if (is_struct(key_)) {
    for (const auto& f : key_.fields) labels.emplace_back(label_name(f.name), text_of(f, e.key));
  } else if (!key_.fields.empty()) {
    labels.emplace_back("key", text_of(key_.fields[0], e.key));
  }
  for (const auto* f : texts_) labels.emplace_back(label_name(f->name), text_of(*f, e.value));
  return labels;
}

void MapMetrics::write(Buffer& out, const std::vector<SnapshotEntry>& entries) const {
  std::string what = spec_.clear_map ? " since it was last printed" : "";
  if (slots_) {
    bool linear = spec_.kind == SampleSpec::Kind::LinearHist;
    std::string help = help_.empty() ? fmt::format("The {} histogram of map {}{}", linear ? "linear" : "log2",
                                                   map_name_, what)
                                     : help_;
    if (!spec_.unit.empty() && spec_.unit != "value") help += fmt::format(" ({})", spec_.unit);
    append_family_header(out, name_, help, "histogram");
    auto bounds = linear ? linear_upper_bounds(slots_->count, spec_.min, spec_.step) : log2_upper_bounds(slots_->count);
    std::vector<uint64_t> counts(slots_->count);
    for (const auto& e : entries) {
      for (uint32_t i = 0; i < slots_->count; i++)
        counts[i] = load_unsigned(*slots_->element, e.value + slots_->offset + i * slots_->element->size);
      append_histogram(out, name_, labels_of(e), counts, bounds);
    }
  }
  // Counters only grow while nothing empties the map; anything else may go down.
  for (const auto* f : numbers_) {
    std::string name = scalar_value_ || f->name == map_name_ ? name_ : name_ + "_" + label_name(f->name);
    bool counter = !spec_.clear_map && f->kind == FieldKind::Unsigned;
    if (counter && !name.ends_with("_total")) name += "_total";  // the convention promtool checks
    std::string help = help_.empty() ? fmt::format("Field {} of map {}{}", f->name, map_name_, what)
                                     : help_ + (scalar_value_ ? "" : " (" + f->name + ")");
    append_family_header(out, name, help, counter ? "counter" : "gauge");
    for (const auto& e : entries) append_sample(out, name, labels_of(e), number_text(*f, e.value));
  }
}

void append_event_counts(Buffer& out, const std::vector<StreamCounts>& streams) {
  if (streams.empty()) return;
  append_family_header(out, "ecli_events_total", "Events received from each ring buffer or perf event array",
                       "counter");
  for (const auto& s : streams) append_sample(out, "ecli_events_total", {{"stream", s.stream}}, fmt::format("{}", s.events));
  append_family_header(out, "ecli_events_lost_total", "Events lost because a perf buffer was full", "counter");
  for (const auto& s : streams)
    append_sample(out, "ecli_events_lost_total", {{"stream", s.stream}}, fmt::format("{}", s.lost));
}

namespace {

// The q value of the first media range in ACCEPT that starts with TYPE
// ("application/openmetrics-text"), or -1 when none does.
double accept_quality(std::string_view accept, std::string_view type) {
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    size_t start = range.find_first_not_of(" \t");
    if (start == std::string_view::npos || range.substr(start).substr(0, type.size()) != type) continue;
    double q = 1;
    if (size_t at = range.find("q="); at != std::string_view::npos) {
      std::string value(range.substr(at + 2));
      char* end = nullptr;
      q = std::strtod(value.c_str(), &end);
      if (end == value.c_str()) q = 1;
    }
    return q;
  }
  return -1;
}

std::string_view first_word(std::string_view line) { return line.substr(0, line.find(' ')); }

}  // namespace

bool prefers_openmetrics(std::string_view accept) {
  double openmetrics = accept_quality(accept, "application/openmetrics-text");
  if (openmetrics <= 0) return false;
  return openmetrics >= std::max(accept_quality(accept, "text/plain"), 0.0);
}

std::string to_openmetrics(std::string_view text) {
  // First pass: which families are counters, and which histograms have a sum.
  std::vector<std::string_view> lines;
  std::set<std::string_view, std::less<>> counters, histograms, with_sum;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    lines.push_back(line);
    at = end + 1;
    if (line.starts_with("# TYPE ")) {
      std::string_view rest = line.substr(7);
      std::string_view name = first_word(rest);
      std::string_view type = rest.substr(std::min(rest.size(), name.size() + 1));
      if (type == "counter") counters.insert(name);
      if (type == "histogram") histograms.insert(name);
    } else if (!line.empty() && line[0] != '#') {
      std::string_view name = line.substr(0, line.find_first_of("{ "));
      if (name.ends_with("_sum")) with_sum.insert(name.substr(0, name.size() - 4));
    }
  }
  std::string out;
  out.reserve(text.size() + 8);
  for (std::string_view line : lines) {
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      std::string_view name = first_word(line.substr(7));
      std::string_view rest = line.substr(std::min(line.size(), 7 + name.size()));
      out.append(line.substr(0, 7));
      out.append(counters.contains(name) && name.ends_with("_total") ? name.substr(0, name.size() - 6) : name);
      if (line[2] == 'H') {
        for (char c : rest) {
          if (c == '"') out.push_back('\\');
          out.push_back(c);
        }
      } else {
        out.append(rest);
      }
    } else if (line[0] == '#') {
      out.append(line);
    } else {
      std::string_view name = line.substr(0, line.find_first_of("{ "));
      if (name.ends_with("_count")) {
        std::string_view family = name.substr(0, name.size() - 6);
        if (histograms.contains(family) && !with_sum.contains(family)) continue;
      }
      out.append(line);
    }
    out.push_back('\n');
  }
  out.append("# EOF\n");
  return out;
}

}  // namespace ecli::output
