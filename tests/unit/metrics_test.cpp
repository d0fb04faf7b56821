// The Prometheus text exposition of --metrics: names, label escaping, HELP
// and TYPE lines, cumulative histogram buckets, tables labelled by their keys.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>

#include "output/metrics.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;
using package::SampleSpec;

std::string text(const Buffer& b) { return fmt::to_string(b); }

FieldPlan field(std::string name, FieldKind kind, uint32_t offset, uint32_t size) {
  FieldPlan f;
  f.name = std::move(name);
  f.kind = kind;
  f.offset = offset;
  f.size = size;
  return f;
}

btf::RenderPlan plan(std::string type, std::vector<FieldPlan> fields, uint32_t size) {
  btf::RenderPlan p;
  p.type_name = std::move(type);
  p.fields = std::move(fields);
  p.size = size;
  return p;
}

FieldPlan slots(uint32_t offset, uint32_t count) {
  FieldPlan f = field("slots", FieldKind::Array, offset, count * 4);
  f.count = count;
  f.element = std::make_shared<FieldPlan>(field("", FieldKind::Unsigned, 0, 4));
  return f;
}

TEST(MetricNames, SanitisedAndPrefixed) {
  EXPECT_EQ(metric_name("hists"), "ecli_hists");
  EXPECT_EQ(metric_name("my.map-1"), "ecli_my_map_1");
  EXPECT_EQ(metric_name("a:b"), "ecli_a:b");
  EXPECT_EQ(metric_name("héllo"), "ecli_h__llo");  // two bytes of UTF-8, two underscores
  EXPECT_EQ(label_name("comm"), "comm");
  EXPECT_EQ(label_name("1st"), "_st");
  EXPECT_EQ(label_name("a:b"), "a_b");
  EXPECT_EQ(label_name("__name"), "_name");
  EXPECT_EQ(label_name(""), "key");
}

TEST(MetricLabels, ValuesEscaped) {
  Buffer out;
  append_sample(out, "ecli_x", {{"comm", "a\\b\"c\nd"}, {"pid", "1"}}, "5");
  EXPECT_EQ(text(out), "ecli_x{comm=\"a\\\\b\\\"c\\nd\",pid=\"1\"} 5\n");
  out.clear();
  append_sample(out, "ecli_x", {}, "7");
  EXPECT_EQ(text(out), "ecli_x 7\n");
}

TEST(MetricHeaders, HelpEscapedOnOneLine) {
  Buffer out;
  append_family_header(out, "ecli_x", "two\nlines \\ here", "counter");
  EXPECT_EQ(text(out), "# HELP ecli_x two\\nlines \\\\ here\n# TYPE ecli_x counter\n");
}

TEST(MetricHistograms, BoundsOfLog2AndLinearBuckets) {
  EXPECT_EQ(log2_upper_bounds(4), (std::vector<std::string>{"1", "3", "7", "15"}));
  EXPECT_EQ(log2_upper_bounds(64).back(), "18446744073709551615");
  EXPECT_EQ(log2_upper_bounds(64)[62], "9223372036854775807");
  EXPECT_EQ(linear_upper_bounds(3, 10, 5), (std::vector<std::string>{"14", "19", "24"}));
  EXPECT_EQ(linear_upper_bounds(2, INT64_MIN, INT64_MAX),
            (std::vector<std::string>{"-2", "9223372036854775805"}));
}

TEST(MetricHistograms, CumulativeBucketsInfAndCount) {
  Buffer out;
  append_histogram(out, "ecli_lat", {{"disk", "sda"}}, {2, 0, 3, 1}, log2_upper_bounds(4));
  EXPECT_EQ(text(out),
            "ecli_lat_bucket{disk=\"sda\",le=\"1\"} 2\n"
            "ecli_lat_bucket{disk=\"sda\",le=\"3\"} 2\n"
            "ecli_lat_bucket{disk=\"sda\",le=\"7\"} 5\n"
            "ecli_lat_bucket{disk=\"sda\",le=\"15\"} 6\n"
            "ecli_lat_bucket{disk=\"sda\",le=\"+Inf\"} 6\n"
            "ecli_lat_count{disk=\"sda\"} 6\n");
}

// struct hist { u32 slots[4]; char comm[8]; } keyed by a u32 pid.
TEST(MapMetrics, Log2HistogramPerKeyWithTextFieldsAsLabels) {
  FieldPlan comm = field("comm", FieldKind::String, 16, 8);
  SampleSpec spec;
  spec.kind = SampleSpec::Kind::Log2Hist;
  spec.unit = "usecs";
  MapMetrics metrics("hists", "Run queue latency\nper process", spec,
                     plan("u32", {field("pid", FieldKind::Unsigned, 0, 4)}, 4),
                     plan("struct hist", {slots(0, 4), comm}, 24));
  uint32_t key = 42;
  uint8_t value[24] = {};
  uint32_t counts[4] = {1, 2, 0, 4};
  std::memcpy(value, counts, sizeof counts);
  std::memcpy(value + 16, "sh", 3);
  Buffer out;
  metrics.write(out, {{reinterpret_cast<uint8_t*>(&key), value}});
  EXPECT_EQ(text(out),
            "# HELP ecli_hists Run queue latency\\nper process (usecs)\n"
            "# TYPE ecli_hists histogram\n"
            "ecli_hists_bucket{key=\"42\",comm=\"sh\",le=\"1\"} 1\n"
            "ecli_hists_bucket{key=\"42\",comm=\"sh\",le=\"3\"} 3\n"
            "ecli_hists_bucket{key=\"42\",comm=\"sh\",le=\"7\"} 3\n"
            "ecli_hists_bucket{key=\"42\",comm=\"sh\",le=\"15\"} 7\n"
            "ecli_hists_bucket{key=\"42\",comm=\"sh\",le=\"+Inf\"} 7\n"
            "ecli_hists_count{key=\"42\",comm=\"sh\"} 7\n");
}

TEST(MapMetrics, LinearHistogramAtItsBounds) {
  SampleSpec spec;
  spec.kind = SampleSpec::Kind::LinearHist;
  spec.min = 0;
  spec.step = 10;
  spec.max = 30;
  MapMetrics metrics("lin", "", spec, plan("struct", {}, 0), plan("struct v", {slots(0, 3)}, 12));
  uint32_t counts[3] = {5, 0, 1};
  Buffer out;
  metrics.write(out, {{nullptr, reinterpret_cast<uint8_t*>(counts)}});
  EXPECT_EQ(text(out),
            "# HELP ecli_lin The linear histogram of map lin\n"
            "# TYPE ecli_lin histogram\n"
            "ecli_lin_bucket{le=\"9\"} 5\n"
            "ecli_lin_bucket{le=\"19\"} 5\n"
            "ecli_lin_bucket{le=\"29\"} 6\n"
            "ecli_lin_bucket{le=\"+Inf\"} 6\n"
            "ecli_lin_count 6\n");
}

// struct key { u32 pid; char comm[4]; } -> struct val { u64 calls; s64 delta; }
TEST(MapMetrics, TableValuesAreFamiliesLabelledByKeyFields) {
  SampleSpec spec;  // a table
  auto key = plan("struct key", {field("pid", FieldKind::Unsigned, 0, 4), field("comm", FieldKind::String, 4, 4)}, 8);
  auto value = plan("struct val", {field("calls", FieldKind::Unsigned, 0, 8), field("delta", FieldKind::Signed, 8, 8)},
                    16);
  MapMetrics metrics("counts", "", spec, key, value);
  uint8_t k1[8] = {7, 0, 0, 0, 'a', '"', 0, 0}, k2[8] = {9, 0, 0, 0, 'b', 0, 0, 0};
  uint8_t v1[16] = {}, v2[16] = {};
  uint64_t c1 = 3, c2 = 10;
  int64_t d1 = -2, d2 = 5;
  std::memcpy(v1, &c1, 8), std::memcpy(v1 + 8, &d1, 8);
  std::memcpy(v2, &c2, 8), std::memcpy(v2 + 8, &d2, 8);
  Buffer out;
  metrics.write(out, {{k1, v1}, {k2, v2}});
  EXPECT_EQ(text(out),
            "# HELP ecli_counts_calls_total Field calls of map counts\n"
            "# TYPE ecli_counts_calls_total counter\n"
            "ecli_counts_calls_total{pid=\"7\",comm=\"a\\\"\"} 3\n"
            "ecli_counts_calls_total{pid=\"9\",comm=\"b\"} 10\n"
            "# HELP ecli_counts_delta Field delta of map counts\n"
            "# TYPE ecli_counts_delta gauge\n"
            "ecli_counts_delta{pid=\"7\",comm=\"a\\\"\"} -2\n"
            "ecli_counts_delta{pid=\"9\",comm=\"b\"} 5\n");
}

TEST(MapMetrics, ScalarValueIsTheMapsOwnFamilyAndClearedMapsAreGauges) {
  SampleSpec spec;
  spec.clear_map = true;
  MapMetrics metrics("syscalls", "Calls by syscall", spec, plan("u32", {field("id", FieldKind::Unsigned, 0, 4)}, 4),
                     plan("u64", {field("value", FieldKind::Unsigned, 0, 8)}, 8));
  uint32_t key = 39;
  uint64_t value = 12;
  Buffer out;
  metrics.write(out, {{reinterpret_cast<uint8_t*>(&key), reinterpret_cast<uint8_t*>(&value)}});
  EXPECT_EQ(text(out),
            "# HELP ecli_syscalls Calls by syscall\n"
            "# TYPE ecli_syscalls gauge\n"
            "ecli_syscalls{key=\"39\"} 12\n");
}

TEST(EventMetrics, SeenAndLostPerStream) {
  Buffer out;
  append_event_counts(out, {{"events", 10, 2}, {"rb", 3, 0}});
  EXPECT_EQ(text(out),
            "# HELP ecli_events_total Events received from each ring buffer or perf event array\n"
            "# TYPE ecli_events_total counter\n"
            "ecli_events_total{stream=\"events\"} 10\n"
            "ecli_events_total{stream=\"rb\"} 3\n"
            "# HELP ecli_events_lost_total Events lost because a perf buffer was full\n"
            "# TYPE ecli_events_lost_total counter\n"
            "ecli_events_lost_total{stream=\"events\"} 2\n"
            "ecli_events_lost_total{stream=\"rb\"} 0\n");
  out.clear();
  append_event_counts(out, {});
  EXPECT_EQ(text(out), "");
}

TEST(OpenMetrics, ChosenWhenTheScraperPrefersIt) {
  // Prometheus 2.42's own Accept header.
  EXPECT_TRUE(prefers_openmetrics("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                                  "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"));
  EXPECT_TRUE(prefers_openmetrics("application/openmetrics-text"));
  EXPECT_FALSE(prefers_openmetrics(""));
  EXPECT_FALSE(prefers_openmetrics("*/*"));  // curl
  EXPECT_FALSE(prefers_openmetrics("text/plain;version=0.0.4"));
  EXPECT_FALSE(prefers_openmetrics("text/plain, application/openmetrics-text;q=0.3"));
  EXPECT_FALSE(prefers_openmetrics("application/openmetrics-text;q=0"));
}

TEST(OpenMetrics, CountersLoseTotalInTheirFamilyHistogramsTheirCountAndTheTextEnds) {
  Buffer out;
  append_family_header(out, "ecli_calls_total", "Calls \"made\"", "counter");
  append_sample(out, "ecli_calls_total", {{"pid", "1"}}, "7");
  append_family_header(out, "ecli_gone_total", "A gauge that happens to end in total", "gauge");
  append_sample(out, "ecli_gone_total", {}, "3");
  append_family_header(out, "ecli_lat", "Latency", "histogram");
  append_histogram(out, "ecli_lat", {{"comm", "a_count b"}}, {1, 2}, {"1", "3"});
  EXPECT_EQ(to_openmetrics(text(out)),
            "# HELP ecli_calls Calls \\\"made\\\"\n"
            "# TYPE ecli_calls counter\n"
            "ecli_calls_total{pid=\"1\"} 7\n"
            "# HELP ecli_gone_total A gauge that happens to end in total\n"
            "# TYPE ecli_gone_total gauge\n"
            "ecli_gone_total 3\n"
            "# HELP ecli_lat Latency\n"
            "# TYPE ecli_lat histogram\n"
            "ecli_lat_bucket{comm=\"a_count b\",le=\"1\"} 1\n"
            "ecli_lat_bucket{comm=\"a_count b\",le=\"3\"} 3\n"
            "ecli_lat_bucket{comm=\"a_count b\",le=\"+Inf\"} 3\n"
            "# EOF\n");
  EXPECT_EQ(to_openmetrics(""), "# EOF\n");
}

}  // namespace
}  // namespace ecli::output
