// Histograms in BCC's layout, linear buckets, @sample checking, and sorted,
// limited tables, on fixed data.
#include <gtest/gtest.h>

#include <bpf/btf.h>

#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "output/snapshot.hpp"
#include "package/sample_spec.hpp"
#include "util/error.hpp"

namespace ecli::output {
namespace {

using package::Json;
using package::SampleSpec;

std::string log2_text(const std::vector<uint64_t>& counts, const char* unit) {
  Buffer out;
  append_log2_histogram(out, counts, unit);
  return fmt::to_string(out);
}

// The histogram the seed conversation shows for runqlat (BCC's layout).
TEST(Histogram, Log2MatchesBccLayout) {
  std::string expected =
      "     (unit)              : count    distribution\n"
      "         0 -> 1          : 9        |****                                    |\n"
      "         2 -> 3          : 6        |**                                      |\n"
      "         4 -> 7          : 12       |*****                                   |\n"
      "         8 -> 15         : 28       |*************                           |\n"
      "        16 -> 31         : 40       |*******************                     |\n"
      "        32 -> 63         : 83       |****************************************|\n"
      "        64 -> 127        : 57       |***************************             |\n"
      "       128 -> 255        : 19       |*********                               |\n"
      "       256 -> 511        : 11       |*****                                   |\n"
      "       512 -> 1023       : 2        |                                        |\n"
      "      1024 -> 2047       : 2        |                                        |\n"
      "      2048 -> 4095       : 0        |                                        |\n"
      "      4096 -> 8191       : 0        |                                        |\n"
      "      8192 -> 16383      : 0        |                                        |\n"
      "     16384 -> 32767      : 1        |                                        |\n";
  EXPECT_EQ(log2_text({9, 6, 12, 28, 40, 83, 57, 19, 11, 2, 2, 0, 0, 0, 1, 0, 0, 0}, "(unit)"), expected);
}

TEST(Histogram, EmptyPrintsNothing) { EXPECT_EQ(log2_text({0, 0, 0}, "usecs"), ""); }

TEST(Histogram, WideHistogramsUseBccWideColumns) {
  std::vector<uint64_t> counts(40, 0);
  counts[0] = 2;
  counts[35] = 4;
  std::string text = log2_text(counts, "nsecs");
  EXPECT_TRUE(text.starts_with("               nsecs                         : count    distribution\n")) << text;
  EXPECT_NE(text.find("         34359738368 -> 68719476735          : 4        |********************|\n"),
            std::string::npos)
      << text;
}

TEST(Histogram, LinearBucketsFromMinByStep) {
  Buffer out;
  append_linear_histogram(out, {0, 50, 30, 0, 5}, 100, 512, "bytes");
  EXPECT_EQ(fmt::to_string(out),
            "     bytes               : count    distribution\n"
            "       612 -> 1123       : 50       |****************************************|\n"
            "      1124 -> 1635       : 30       |************************                |\n"
            "      1636 -> 2147       : 0        |                                        |\n"
            "      2148 -> 2659       : 5        |****                                    |\n");
}

TEST(Histogram, LinearBucketsBeyondInt64AreExact) {
  // A package's @sample may give any int64 min and step; the map may have more slots than max needs.
  Buffer out;
  append_linear_histogram(out, {1, 0, 1}, INT64_MAX - 1, INT64_MAX, "");
  EXPECT_EQ(fmt::to_string(out),
            "                         : count    distribution\n"
            "9223372036854775806 -> 18446744073709551612 : 1        |****************************************|\n"
            "18446744073709551613 -> 27670116110564327419 : 0        |                                        |\n"
            "27670116110564327420 -> 36893488147419103226 : 1        |****************************************|\n");
}

std::string spec_error(const Json& j) {
  try {
    package::parse_sample_spec(j);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(SampleSpec, ParsesEveryKey) {
  SampleSpec s = package::parse_sample_spec(Json::parse(
      R"({"interval": 250, "type": "linear_hist", "unit": "bytes", "clear_map": true, "min": 10, "max": 100, "step": 5})"));
  EXPECT_EQ(s.kind, SampleSpec::Kind::LinearHist);
  EXPECT_EQ(s.interval_ms, 250);
  EXPECT_EQ(s.unit, "bytes");
  EXPECT_TRUE(s.clear_map);
  EXPECT_EQ(s.min, 10);
  EXPECT_EQ(s.step, 5);
  s = package::parse_sample_spec(Json::parse(R"({"type": "default_kv", "sort_by": "count", "limit": 3})"));
  EXPECT_EQ(s.kind, SampleSpec::Kind::Table);
  EXPECT_EQ(s.interval_ms, 1000);
  EXPECT_EQ(s.sort_by, "count");
  EXPECT_EQ(s.limit, 3);
}

TEST(SampleSpec, RejectsWhatCannotWork) {
  EXPECT_EQ(spec_error("{ interval: 1000 }"), "@sample is not JSON: { interval: 1000 }");
  EXPECT_EQ(spec_error(Json::parse(R"({"type": "pie"})")),
            "@sample type \"pie\" is not one of log2_hist, linear_hist, default_kv");
  EXPECT_EQ(spec_error(Json::parse(R"({"type": 1})")),
            "@sample \"type\" must be one of \"log2_hist\", \"linear_hist\", \"default_kv\"");
  EXPECT_EQ(spec_error(Json::parse(R"({"interval": 0})")), "@sample \"interval\" must be a positive number of milliseconds");
  EXPECT_EQ(spec_error(Json::parse(R"({"interval": "1s"})")), "\"interval\" must be an integer");
  EXPECT_EQ(spec_error(Json::parse(R"({"type": "linear_hist", "min": 5})")),
            "@sample linear_hist needs \"max\" greater than \"min\"");
  EXPECT_EQ(spec_error(Json::parse(R"({"type": "linear_hist", "max": 5, "step": 0})")), "@sample \"step\" must be positive");
  EXPECT_EQ(spec_error(Json::parse(R"({"clear_map": "yes"})")), "@sample \"clear_map\" must be true or false");
  EXPECT_EQ(spec_error(Json::parse("[1]")),
            "@sample must be a JSON object such as {\"interval\": 1000, \"type\": \"log2_hist\"}");
}

// key: struct process { int pid; }  value: struct counts { __u64 calls; char comm[8]; }
// hist value: struct hist { __u32 slots[4]; char comm[8]; }
struct Types {
  std::unique_ptr<struct btf, decltype(&btf__free)> btf{btf__new_empty(), btf__free};
  uint32_t key, counts, hist, bad_hist, u32_key;
  Types() {
    struct btf* b = btf.get();
    int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    int u32 = btf__add_int(b, "unsigned int", 4, 0);
    int u64 = btf__add_int(b, "unsigned long long", 8, 0);
    int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
    int comm = btf__add_array(b, s32, chr, 8);
    int slots = btf__add_array(b, s32, u32, 4);
    key = btf__add_struct(b, "process", 4);
    btf__add_field(b, "pid", s32, 0, 0);
    counts = btf__add_struct(b, "counts", 16);
    btf__add_field(b, "calls", u64, 0, 0);
    btf__add_field(b, "comm", comm, 64, 0);
    hist = btf__add_struct(b, "hist", 24);
    btf__add_field(b, "slots", slots, 0, 0);
    btf__add_field(b, "comm", comm, 128, 0);
    bad_hist = btf__add_struct(b, "nohist", 8);
    btf__add_field(b, "total", u64, 0, 0);
    u32_key = u32;
  }
  btf::RenderPlan plan(uint32_t id) const { return btf::build_render_plan(btf.get(), id); }
};

struct Row {
  int32_t pid;
  uint64_t calls;
  char comm[8];
};

std::string table(const Json& sample, Format format, std::string sort = {}, int64_t top = -1) {
  Types t;
  SnapshotWriter writer("syscalls", package::parse_sample_spec(sample), t.plan(t.key), t.plan(t.counts), format, sort,
                        top);
  Row rows[] = {{10, 5, "low"}, {20, 50, "high"}, {30, 20, "mid"}, {40, 1, "least"}};
  std::vector<uint8_t> values(4 * 16);
  std::vector<SnapshotEntry> entries;
  for (int i = 0; i < 4; i++) {
    std::memcpy(values.data() + i * 16, &rows[i].calls, 8);
    std::memcpy(values.data() + i * 16 + 8, rows[i].comm, 8);
    entries.push_back({reinterpret_cast<const uint8_t*>(&rows[i].pid), values.data() + i * 16});
  }
  Buffer out;
  writer.write(out, "10:00:00", entries);
  return fmt::to_string(out);
}

TEST(KeyValueTable, SortedLargestFirstAndLimited) {
  EXPECT_EQ(table(Json::parse(R"({"type": "default_kv", "sort_by": "calls", "limit": 2})"), Format::Table),
            "\n10:00:00 syscalls\n"
            "TIME     PID     CALLS      COMM\n"
            "10:00:00 20      50         high\n"
            "10:00:00 30      20         mid\n");
}

TEST(KeyValueTable, CommandLineOverridesTheAnnotation) {
  std::string out = table(Json::parse(R"({"type": "default_kv", "sort_by": "calls", "limit": 2})"), Format::Table,
                          "comm", 3);
  EXPECT_NE(out.find("high\n10:00:00 40      1          least\n10:00:00 10      5          low\n"), std::string::npos)
      << out;
}

TEST(KeyValueTable, JsonRowsNameTheMap) {
  std::string out = table(Json::parse(R"({"type": "default_kv", "sort_by": "pid", "limit": 1})"), Format::Json);
  EXPECT_EQ(out, "{\"time\":\"10:00:00\",\"map\":\"syscalls\",\"pid\":40,\"calls\":1,\"comm\":\"least\"}\n");
}

TEST(KeyValueTable, UnknownSortFieldIsAnError) {
  Types t;
  try {
    SnapshotWriter("m", package::parse_sample_spec(Json::parse(R"({"sort_by": "nope"})")), t.plan(t.key),
                   t.plan(t.counts), Format::Table);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "it has no field \"nope\" to sort by");
  }
}

TEST(HistogramSnapshot, HeadedByKeyAndOtherValueFields) {
  Types t;
  SnapshotWriter writer("hists", package::parse_sample_spec(Json::parse(R"({"type": "log2_hist", "unit": "usecs"})")),
                        t.plan(t.u32_key), t.plan(t.hist), Format::Table);
  uint32_t key = 4294967295u;
  uint8_t value[24] = {};
  uint32_t slots[4] = {3, 0, 1, 0};
  std::memcpy(value, slots, sizeof slots);
  std::memcpy(value + 16, "bash", 4);
  std::vector<SnapshotEntry> entries{{reinterpret_cast<const uint8_t*>(&key), value}};
  Buffer out;
  writer.write(out, "10:00:00", entries);
  EXPECT_EQ(fmt::to_string(out),
            "\n10:00:00 hists\n"
            "key = 4294967295\n"
            "comm = bash\n\n"
            "     usecs               : count    distribution\n"
            "         0 -> 1          : 3        |****************************************|\n"
            "         2 -> 3          : 0        |                                        |\n"
            "         4 -> 7          : 1        |*************                           |\n\n");
  Buffer json;
  SnapshotWriter json_writer("hists", package::parse_sample_spec(Json::parse(R"({"type": "log2_hist"})")),
                             t.plan(t.u32_key), t.plan(t.hist), Format::Json);
  json_writer.write(json, "10:00:00", entries);
  auto j = nlohmann::json::parse(fmt::to_string(json));
  EXPECT_EQ(j["map"], "hists");
  EXPECT_EQ(j["key"], 4294967295u);
  EXPECT_EQ(j["comm"], "bash");
  EXPECT_EQ(j["total"], 4);
  EXPECT_EQ(j["buckets"][2], nlohmann::json({{"low", 4}, {"high", 7}, {"count", 1}}));
}

TEST(HistogramSnapshot, ValueWithoutSlotsIsRefused) {
  Types t;
  try {
    SnapshotWriter("m", package::parse_sample_spec(Json::parse(R"({"type": "log2_hist"})")), t.plan(t.u32_key),
                   t.plan(t.bad_hist), Format::Table);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "its value (struct nohist) has no slots array to hold the histogram's buckets");
  }
}

}  // namespace
}  // namespace ecli::output
