// The decoder on hand-built BTF and byte buffers: every kind of C type, as
// text, JSON (checked by parsing it back) and CSV.
#include <gtest/gtest.h>

#include <bpf/btf.h>

#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "btf/render_plan.hpp"
#include "output/event_format.hpp"
#include "util/error.hpp"

namespace ecli::output {
namespace {

// struct everything {
//   signed char s8; unsigned char u8; short s16; unsigned short u16; int s32; unsigned int u32;
//   long long s64; unsigned long long u64; bool flag; char comm[8]; int nums[3];
//   struct inner { int a; char tag[4]; } inner; union { int i; unsigned char b[4]; } u;
//   enum color c; enum color unknown; int bits_lo:3; int bits_hi:5; unsigned int ubits:4;
//   void *ptr; float f; double d; __u8 raw[2]; signed char short_name;
// }
struct Fixture {
  std::unique_ptr<struct btf, decltype(&btf__free)> btf{btf__new_empty(), btf__free};
  uint32_t root = 0;
  Fixture() {
    struct btf* b = btf.get();
    int s8 = btf__add_int(b, "signed char", 1, BTF_INT_SIGNED);
    int u8 = btf__add_int(b, "unsigned char", 1, 0);
    int s16 = btf__add_int(b, "short", 2, BTF_INT_SIGNED);
    int u16 = btf__add_int(b, "unsigned short", 2, 0);
    int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    int u32 = btf__add_int(b, "unsigned int", 4, 0);
    int s64 = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
    int u64 = btf__add_int(b, "unsigned long long", 8, 0);
    int boolean = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
    int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
    int comm = btf__add_array(b, s32, chr, 8);
    int nums = btf__add_array(b, s32, s32, 3);
    int tag = btf__add_array(b, s32, chr, 4);
    int inner = btf__add_struct(b, "inner", 8);
    btf__add_field(b, "a", s32, 0, 0);
    btf__add_field(b, "tag", tag, 32, 0);
    int bytes4 = btf__add_array(b, s32, u8, 4);
    int uni = btf__add_union(b, "", 4);
    btf__add_field(b, "i", s32, 0, 0);
    btf__add_field(b, "b", bytes4, 0, 0);
    int color = btf__add_enum(b, "color", 4);
    btf__add_enum_value(b, "RED", 1);
    btf__add_enum_value(b, "GREEN", 2);
    int vptr = btf__add_ptr(b, 0);
    int flt = btf__add_float(b, "float", 4);
    int dbl = btf__add_float(b, "double", 8);
    int u8_t = btf__add_typedef(b, "__u8", u8);
    int raw = btf__add_array(b, s32, u8_t, 2);
    root = btf__add_struct(b, "everything", 112);
    int bit = 0;
    auto field = [&](const char* name, int type, int bits_size = 0) { btf__add_field(b, name, type, bit, bits_size); };
    field("s8", s8), bit += 8;
    field("u8", u8), bit += 8;
    field("s16", s16), bit += 16;
    field("u16", u16), bit += 16;
    bit = 64;
    field("s32", s32), bit += 32;
    field("u32", u32), bit += 32;
    field("s64", s64), bit += 64;
    field("u64", u64), bit += 64;
    field("flag", boolean), bit += 8;
    field("comm", comm);
    bit = 44 * 8;
    field("nums", nums), bit += 96;  // 44..55
    field("inner", inner), bit += 64;  // 56..63
    field("u", uni), bit += 32;        // 64
    field("c", color), bit += 32;      // 68
    field("unknown", color), bit += 32;  // 72
    field("bits_lo", s32, 3);          // 76, bits 0..2
    bit += 3;
    field("bits_hi", s32, 5);          // 76, bits 3..7
    bit += 5;
    field("ubits", u32, 4);            // 77, bits 0..3
    bit = 80 * 8;
    field("ptr", vptr), bit += 64;     // 80
    field("f", flt), bit += 32;        // 88
    field("d", dbl);                   // 92
    bit = 100 * 8;
    field("raw", raw);                 // 100
    bit = 102 * 8;
    field("short_name", s8);           // 102
  }
};

std::string bytes() {
  std::string d(112, '\0');
  auto put = [&](size_t off, auto v) { std::memcpy(d.data() + off, &v, sizeof v); };
  put(0, int8_t(-5));
  put(1, uint8_t(250));
  put(2, int16_t(-300));
  put(4, uint16_t(65000));
  put(8, int32_t(-70000));
  put(12, uint32_t(4000000000u));
  put(16, int64_t(-5000000000LL));
  put(24, uint64_t(18446744073709551615ull));
  put(32, uint8_t(1));
  std::memcpy(d.data() + 33, "bash\0xyz", 8);
  put(44, int32_t(1)), put(48, int32_t(-2)), put(52, int32_t(3));
  put(56, int32_t(9)), std::memcpy(d.data() + 60, "ab\x01q", 4);
  put(64, int32_t(0x04030201));
  put(68, int32_t(2));
  put(72, int32_t(77));
  // bits_lo = -3 (3 bits: 101), bits_hi = 11 (5 bits), ubits = 15 (4 bits) at byte 76.
  uint32_t packed = (0b101u) | (11u << 3) | (15u << 8);
  put(76, packed);
  return d;
}

TEST(RenderPlan, PlansEveryKindOnce) {
  Fixture f;
  btf::RenderPlan plan = btf::build_render_plan(f.btf.get(), f.root);
  EXPECT_EQ(plan.type_name, "struct everything");
  EXPECT_EQ(plan.size, 112u);
  std::map<std::string, btf::FieldKind> kinds;
  for (auto& field : plan.fields) kinds[field.name] = field.kind;
  EXPECT_EQ(kinds["s8"], btf::FieldKind::Signed);
  EXPECT_EQ(kinds["comm"], btf::FieldKind::String);
  EXPECT_EQ(kinds["nums"], btf::FieldKind::Array);
  EXPECT_EQ(kinds["inner"], btf::FieldKind::Struct);
  EXPECT_EQ(kinds["u"], btf::FieldKind::Struct);
  EXPECT_EQ(kinds["c"], btf::FieldKind::Enum);
  EXPECT_EQ(kinds["ptr"], btf::FieldKind::Pointer);
  EXPECT_EQ(kinds["f"], btf::FieldKind::Float);
  EXPECT_EQ(kinds["raw"], btf::FieldKind::Array);  // __u8[2] stays numbers
}

TEST(RenderPlan, MissingTypeIsAnError) {
  Fixture f;
  EXPECT_THROW(btf::build_render_plan(f.btf.get(), 9999), Error);
  EXPECT_EQ(btf::find_type_by_name(f.btf.get(), "struct everything"), f.root);
  EXPECT_EQ(btf::find_type_by_name(f.btf.get(), "everything"), f.root);
  EXPECT_EQ(btf::find_type_by_name(f.btf.get(), "struct nothing"), 0u);
}

std::string row(Format format, const std::string& data, const std::vector<std::string>& fields = {}) {
  Fixture f;
  std::vector<StreamFormat> streams(1);
  streams[0].name = "events";
  streams[0].plan = btf::build_render_plan(f.btf.get(), f.root);
  choose_columns(streams, fields);
  EventWriter writer(format, streams);
  Buffer out;
  writer.header(out);
  writer.row(out, "12:34:56", 0, reinterpret_cast<const uint8_t*>(data.data()), data.size());
  return fmt::to_string(out);
}

TEST(EventFormat, JsonHasEveryFieldWithTheRightType) {
  std::string line = row(Format::Json, bytes());
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["time"], "12:34:56");
  EXPECT_EQ(j["s8"], -5);
  EXPECT_EQ(j["u8"], 250);
  EXPECT_EQ(j["s16"], -300);
  EXPECT_EQ(j["u16"], 65000);
  EXPECT_EQ(j["s32"], -70000);
  EXPECT_EQ(j["u32"], 4000000000u);
  EXPECT_EQ(j["s64"], -5000000000LL);
  EXPECT_EQ(j["u64"], 18446744073709551615ull);
  EXPECT_EQ(j["flag"], true);
  EXPECT_EQ(j["comm"], "bash");
  EXPECT_EQ(j["nums"], nlohmann::json({1, -2, 3}));
  EXPECT_EQ(j["inner"]["a"], 9);
  EXPECT_EQ(j["inner"]["tag"], "ab\u0001q");  // no NUL: stops at the array's end
  EXPECT_EQ(j["u"]["i"], 0x04030201);
  EXPECT_EQ(j["u"]["b"], nlohmann::json({1, 2, 3, 4}));
  EXPECT_EQ(j["c"], "GREEN");
  EXPECT_EQ(j["unknown"], 77);
  EXPECT_EQ(j["bits_lo"], -3);
  EXPECT_EQ(j["bits_hi"], 11);
  EXPECT_EQ(j["ubits"], 15);
  EXPECT_TRUE(j["ptr"].is_string());
  EXPECT_EQ(j["raw"], nlohmann::json({0, 0}));
  // Declaration order is kept.
  std::vector<std::string> keys;
  auto ordered = nlohmann::ordered_json::parse(line);
  for (auto& [k, v] : ordered.items()) keys.push_back(k);
  EXPECT_EQ(keys.front(), "time");
  EXPECT_EQ(keys[1], "s8");
  EXPECT_EQ(keys.back(), "short_name");
}

TEST(EventFormat, FloatsAndPointers) {
  std::string d = bytes();
  float f = 1.5f;
  double x = -2.25;
  uint64_t p = 0xffff888012345678ull;
  std::memcpy(d.data() + 80, &p, 8);
  std::memcpy(d.data() + 88, &f, 4);
  std::memcpy(d.data() + 92, &x, 8);
  auto j = nlohmann::json::parse(row(Format::Json, d));
  EXPECT_EQ(j["ptr"], "0xffff888012345678");
  EXPECT_EQ(j["f"], 1.5);
  EXPECT_EQ(j["d"], -2.25);
}

TEST(EventFormat, JsonStaysValidForAnyBytes) {
  std::string d = bytes();
  std::memcpy(d.data() + 33, "\xff\"\\\n\xc3\xa9z", 8);  // invalid UTF-8, quote, backslash, newline, é
  auto j = nlohmann::json::parse(row(Format::Json, d));
  EXPECT_EQ(j["comm"], "\u00ff\"\\\n\u00e9z");
}

TEST(EventFormat, TableHasHeaderAndAlignedColumns) {
  std::string out = row(Format::Table, bytes(), {"s32", "comm", "c", "flag"});
  EXPECT_EQ(out,
            "TIME     S32     COMM    C     FLAG\n"
            "12:34:56 -70000  bash    GREEN true\n");
}

TEST(EventFormat, TableEscapesNonPrintableText) {
  std::string out = row(Format::Table, bytes(), {"inner"});
  EXPECT_NE(out.find("{a: 9, tag: ab\\x01q}"), std::string::npos) << out;
}

TEST(EventFormat, CsvQuotesWhatNeedsIt) {
  std::string d = bytes();
  std::memcpy(d.data() + 33, "a,b\"c\0\0\0", 8);
  std::string out = row(Format::Csv, d, {"u8", "comm", "nums"});
  EXPECT_EQ(out, "time,u8,comm,nums\n12:34:56,250,\"a,b\"\"c\",\"[1, -2, 3]\"\n");
}

TEST(EventFormat, ShortEventsReadAsZeros) {
  std::string d = bytes().substr(0, 8);
  auto j = nlohmann::json::parse(row(Format::Json, d));
  EXPECT_EQ(j["s8"], -5);
  EXPECT_EQ(j["s32"], 0);
  EXPECT_EQ(j["comm"], "");
}

TEST(EventFormat, TypesTheDecoderDoesNotKnowPrintAsHex) {
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  int wide = btf__add_int(b.get(), "__int128", 16, BTF_INT_SIGNED);
  int id = btf__add_struct(b.get(), "wide_event", 16);
  btf__add_field(b.get(), "value", wide, 0, 0);
  std::vector<StreamFormat> streams(1);
  streams[0].plan = btf::build_render_plan(b.get(), id);
  ASSERT_EQ(streams[0].plan.fields[0].kind, btf::FieldKind::Unknown);
  EXPECT_EQ(streams[0].plan.fields[0].c_type, "__int128");
  choose_columns(streams, {});
  uint8_t data[16] = {0x01, 0xab};
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, data, sizeof data);
  EXPECT_EQ(fmt::to_string(out), "{\"time\":\"00:00:00\",\"value\":\"0x01ab0000000000000000000000000000\"}\n");
}

TEST(EventFormat, UnknownFieldInFieldsIsAnError) {
  EXPECT_THROW(row(Format::Table, bytes(), {"nope"}), Error);
}

TEST(EventFormat, SeveralStreamsAreNamed) {
  Fixture f;
  std::vector<StreamFormat> streams(2);
  streams[0].name = "ring_events";
  streams[1].name = "perf_events";
  streams[0].plan = streams[1].plan = btf::build_render_plan(f.btf.get(), f.root);
  choose_columns(streams, {"u8"});
  Buffer out;
  EventWriter json(Format::Json, streams);
  std::string d = bytes();
  json.row(out, "00:00:01", 1, reinterpret_cast<const uint8_t*>(d.data()), d.size());
  EXPECT_EQ(fmt::to_string(out), "{\"time\":\"00:00:01\",\"stream\":\"perf_events\",\"u8\":250}\n");
  out.clear();
  EventWriter table(Format::Table, streams);
  table.row(out, "00:00:01", 0, reinterpret_cast<const uint8_t*>(d.data()), d.size());
  EXPECT_EQ(fmt::to_string(out), "ring_events 00:00:01 250\n");
}

}  // namespace
}  // namespace ecli::output
