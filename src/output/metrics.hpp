#pragma once
// Prometheus text exposition format 0.0.4 (`--metrics`, issue 11): pure
// formatting, no libbpf. The runtime reads the maps; this turns their entries
// into metric families:
//  - values holding `slots` (log2 or linear histograms) become Prometheus
//    histograms: cumulative `NAME_bucket{le="..."}` at each bucket's inclusive
//    upper bound, `le="+Inf"` and `NAME_count`. `NAME_sum` is left out: a log2
//    bucket does not say where in it the values fell, and a made-up sum would
//    mislead rate(sum)/rate(count); Prometheus accepts histograms without it.
//  - other numeric value fields become one family each (`NAME_FIELD`, or NAME
//    for a bare scalar value), one sample per key, labelled by the key's
//    fields; text fields of the value (a comm) are labels too.
//  - event streams: `ecli_events_total` and `ecli_events_lost_total` by stream.
// Names are "ecli_" + the name sanitised to [a-zA-Z0-9_:]; HELP comes from
// the map's doc comment when it has one.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "btf/render_plan.hpp"
#include "output/event_format.hpp"
#include "output/snapshot.hpp"
#include "package/sample_spec.hpp"

namespace ecli::output {

using Labels = std::vector<std::pair<std::string, std::string>>;

// "ecli_" + `raw` with every character outside [a-zA-Z0-9_:] made '_'.
std::string metric_name(std::string_view raw);
// A label name: [a-zA-Z_][a-zA-Z0-9_]*, never starting with "__" (reserved).
std::string label_name(std::string_view raw);
// A label value with \, " and newline escaped.
void append_label_value(Buffer& out, std::string_view value);
// "# HELP name text" (\ and newline escaped) and "# TYPE name type".
void append_family_header(Buffer& out, std::string_view name, std::string_view help, std::string_view type);
// name{labels} value
void append_sample(Buffer& out, std::string_view name, const Labels& labels, std::string_view value);
// Inclusive upper bounds of the buckets: log2 slot i holds [2^i, 2^(i+1)-1]
// (slot 0 holds 0 and 1), linear bucket i holds [min + i*step, min + (i+1)*step - 1].
std::vector<std::string> log2_upper_bounds(size_t buckets);
std::vector<std::string> linear_upper_bounds(size_t buckets, int64_t min, int64_t step);
// NAME_bucket lines with cumulative counts, le="+Inf", NAME_count.
void append_histogram(Buffer& out, std::string_view name, const Labels& labels, const std::vector<uint64_t>& counts,
                      const std::vector<std::string>& upper_bounds);

// One map's (or global's) families, from the entries the sampler read.
class MapMetrics {
 public:
  // `help`: the doc comment, or empty for a generated one.
  MapMetrics(std::string map_name, std::string help, package::SampleSpec spec, btf::RenderPlan key,
             btf::RenderPlan value);
  void write(Buffer& out, const std::vector<SnapshotEntry>& entries) const;

 private:
  Labels labels_of(const SnapshotEntry& e) const;

  std::string name_, map_name_, help_;
  package::SampleSpec spec_;
  btf::RenderPlan key_, value_;
  const btf::FieldPlan* slots_ = nullptr;
  std::vector<const btf::FieldPlan*> numbers_, texts_;  // value fields: samples, labels
  bool scalar_value_ = false;
};

struct StreamCounts {
  std::string stream;
  uint64_t events = 0, lost = 0;
};
void append_event_counts(Buffer& out, const std::vector<StreamCounts>& streams);

// Content negotiation of a scrape: true when ACCEPT (an HTTP Accept header)
// prefers OpenMetrics text over the 0.0.4 format, as Prometheus's own scrapes
// do (openmetrics q=1, text/plain q=0.5).
bool prefers_openmetrics(std::string_view accept);
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kOpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

// The same families in OpenMetrics 1.0 text, from text written by the
// functions above: counter families are named without their `_total` (the
// samples keep it), `"` is escaped in HELP, a histogram without `_sum` loses
// its `_count` (OpenMetrics allows `_count` only beside `_sum`; the +Inf
// bucket holds the same number), and `# EOF` ends it.
std::string to_openmetrics(std::string_view text);

}  // namespace ecli::output
