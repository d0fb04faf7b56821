// The decoder on hand-built BTF and byte buffers: every kind of C type, as
// text, JSON (checked by parsing it back) and CSV.
#include <gtest/gtest.h>

#include <bpf/btf.h>

#include <cstring>
#include <memory>

#include <nlohmann/json.hpp>

#include "btf/render_plan.hpp"
#include "btf/type_names.hpp"
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

// Hostile BTF that btf__new accepts (found by fuzz_render_plan): a pointer to
// an unnamed int, and a const and a pointer that refer to each other.
TEST(RenderPlan, TypeNamesOfOddBtfAreBounded) {
  std::unique_ptr<struct btf, decltype(&btf__free)> owner(btf__new_empty(), btf__free);
  struct btf* b = owner.get();
  int unnamed = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const_cast<btf_type*>(btf__type_by_id(b, unnamed))->name_off = 0;  // libbpf adds no unnamed int itself
  int ptr = btf__add_ptr(b, unnamed);
  int loop_const = btf__add_const(b, 0);
  int loop_ptr = btf__add_ptr(b, loop_const);
  ASSERT_GT(ptr, 0);
  ASSERT_GT(loop_ptr, 0);
  const_cast<btf_type*>(btf__type_by_id(b, loop_const))->type = loop_ptr;  // close the loop
  EXPECT_EQ(btf::c_type_name(b, ptr), " *");
  EXPECT_NE(btf::c_type_name(b, loop_ptr).find("<unknown>"), std::string::npos);
}

// Nested structs that repeat a type: level k is a struct of two members of
// level k-1, so 30 levels would be 2^30 fields; the plan stops at its budget
// with one error (fuzz_render_plan found minutes per plan), while a type as
// large as real ones still plans.
TEST(RenderPlan, TypesExpandingToTooManyFieldsAreRefused) {
  std::unique_ptr<struct btf, decltype(&btf__free)> owner(btf__new_empty(), btf__free);
  struct btf* b = owner.get();
  int level = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int ten_levels = 0;
  for (int k = 1; k <= 30; k++) {
    uint32_t size = 4u << k;
    int s = btf__add_struct(b, ("level" + std::to_string(k)).c_str(), size);
    ASSERT_GT(s, 0);
    ASSERT_EQ(btf__add_field(b, "a", level, 0, 0), 0);
    ASSERT_EQ(btf__add_field(b, "b", level, size * 4, 0), 0);  // bit offset of the second half
    level = s;
    if (k == 10) ten_levels = s;
  }
  EXPECT_EQ(btf::build_render_plan(b, ten_levels).fields.size(), 2u);  // 2^10 ints: fine
  try {
    btf::build_render_plan(b, level);
    FAIL() << "a type of 2^30 fields was planned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has more than 65536 fields"), std::string::npos) << e.what();
  }
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
  int wide = btf__add_float(b.get(), "long double", 16);
  int id = btf__add_struct(b.get(), "wide_event", 16);
  btf__add_field(b.get(), "value", wide, 0, 0);
  std::vector<StreamFormat> streams(1);
  streams[0].plan = btf::build_render_plan(b.get(), id);
  ASSERT_EQ(streams[0].plan.fields[0].kind, btf::FieldKind::Unknown);
  EXPECT_EQ(streams[0].plan.fields[0].c_type, "long double");
  choose_columns(streams, {});
  uint8_t data[16] = {0x01, 0xab};
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, data, sizeof data);
  EXPECT_EQ(fmt::to_string(out), "{\"time\":\"00:00:00\",\"value\":\"0x01ab0000000000000000000000000000\"}\n");
}

// struct wide { unsigned __int128 u; __int128 s; __int128 min; unsigned __int128 zero; int after; }
struct WideFixture {
  std::unique_ptr<struct btf, decltype(&btf__free)> btf{btf__new_empty(), btf__free};
  uint32_t root = 0;
  std::string data = std::string(68, '\0');
  WideFixture() {
    struct btf* b = btf.get();
    int u128 = btf__add_int(b, "unsigned __int128", 16, 0);
    int s128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
    int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    root = btf__add_struct(b, "wide", 68);
    btf__add_field(b, "u", u128, 0, 0);
    btf__add_field(b, "s", s128, 128, 0);
    btf__add_field(b, "min", s128, 256, 0);
    btf__add_field(b, "zero", u128, 384, 0);
    btf__add_field(b, "after", s32, 512, 0);
    unsigned __int128 u = (static_cast<unsigned __int128>(0x0123456789abcdefULL) << 64) | 0xfedcba9876543210ULL;
    __int128 s = -5;
    unsigned __int128 min = static_cast<unsigned __int128>(1) << 127;
    int32_t after = 42;
    std::memcpy(data.data(), &u, 16);
    std::memcpy(data.data() + 16, &s, 16);
    std::memcpy(data.data() + 32, &min, 16);
    std::memcpy(data.data() + 64, &after, 4);
  }
  std::string row(Format format) const {
    std::vector<StreamFormat> streams(1);
    streams[0].plan = btf::build_render_plan(btf.get(), root);
    choose_columns(streams, {});
    Buffer out;
    EventWriter writer(format, streams);
    writer.header(out);
    writer.row(out, "00:00:00", 0, reinterpret_cast<const uint8_t*>(data.data()), data.size());
    return fmt::to_string(out);
  }
};

TEST(EventFormat, SixteenByteIntegersPlanAsTheirOwnKind) {
  WideFixture f;
  btf::RenderPlan plan = btf::build_render_plan(f.btf.get(), f.root);
  ASSERT_EQ(plan.fields.size(), 5u);
  EXPECT_EQ(plan.fields[0].kind, btf::FieldKind::Unsigned128);
  EXPECT_EQ(plan.fields[1].kind, btf::FieldKind::Signed128);
  EXPECT_EQ(plan.fields[0].size, 16u);
}

TEST(EventFormat, SixteenByteIntegersPrintAsHexInJson) {
  auto j = nlohmann::json::parse(WideFixture().row(Format::Json));
  EXPECT_EQ(j["u"], "0x123456789abcdeffedcba9876543210");
  EXPECT_EQ(j["s"], "-0x5");
  EXPECT_EQ(j["min"], "-0x80000000000000000000000000000000");
  EXPECT_EQ(j["zero"], "0x0");
  EXPECT_EQ(j["after"], 42);
}

TEST(EventFormat, SixteenByteIntegersPrintTheSameInTableAndCsv) {
  std::string table = WideFixture().row(Format::Table);
  EXPECT_NE(table.find(" 0x123456789abcdeffedcba9876543210 -0x5"), std::string::npos) << table;
  EXPECT_NE(table.find(" -0x80000000000000000000000000000000 0x0"), std::string::npos) << table;
  EXPECT_TRUE(table.ends_with(" 42\n")) << table;
  std::string csv = WideFixture().row(Format::Csv);
  EXPECT_EQ(csv, "time,u,s,min,zero,after\n00:00:00,0x123456789abcdeffedcba9876543210,-0x5,"
                 "-0x80000000000000000000000000000000,0x0,42\n");
}

TEST(EventFormat, SixteenByteBitfieldsKeepEveryBit) {
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  int u128 = btf__add_int(b.get(), "unsigned __int128", 16, 0);
  int s128 = btf__add_int(b.get(), "__int128", 16, BTF_INT_SIGNED);
  int u64 = btf__add_int(b.get(), "unsigned long long", 8, 0);
  int id = btf__add_struct(b.get(), "bits", 32);
  btf__add_field(b.get(), "low", u64, 0, 4);
  btf__add_field(b.get(), "straddle", u64, 4, 64);     // bits 4..67
  btf__add_field(b.get(), "wide", u128, 68, 100);      // bits 68..167
  btf__add_field(b.get(), "negative", s128, 168, 8);   // bits 168..175
  std::vector<StreamFormat> streams(1);
  streams[0].plan = btf::build_render_plan(b.get(), id);
  choose_columns(streams, {});
  uint8_t data[32] = {};
  unsigned __int128 packed = 0;
  packed |= static_cast<unsigned __int128>(0xf);                    // low = 15
  packed |= static_cast<unsigned __int128>(~0ull) << 4;             // straddle = all ones
  std::memcpy(data, &packed, 16);
  unsigned __int128 wide = (static_cast<unsigned __int128>(1) << 99) | 1;  // wide: top and bottom bit
  // wide starts at bit 68: byte 8, bit 4.
  unsigned __int128 shifted_lo = wide << 4;
  uint8_t tail[24] = {};
  std::memcpy(tail, &shifted_lo, 16);
  tail[16] = static_cast<uint8_t>(wide >> 124);
  for (int i = 0; i < 20; i++) data[8 + i] |= tail[i];
  data[21] = 0xfe;  // negative = -2 at bits 168..175
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, data, sizeof data);
  auto j = nlohmann::json::parse(fmt::to_string(out));
  EXPECT_EQ(j["low"], 15);
  EXPECT_EQ(j["straddle"], 18446744073709551615ull);
  EXPECT_EQ(j["wide"], "0x8000000000000000000000001");
  EXPECT_EQ(j["negative"], "-0x2");
}

TEST(EventFormat, AFieldThatCannotBeDecodedPrintsAPlaceholderAndTheRowGoesOn) {
  WideFixture f;
  std::vector<StreamFormat> streams(1);
  streams[0].plan = btf::build_render_plan(f.btf.get(), f.root);
  // Malformed plans: a field past the end of the event, and an array without an element plan.
  btf::FieldPlan outside = streams[0].plan.fields[4];
  outside.name = "outside";
  outside.offset = 1000;
  btf::FieldPlan broken;
  broken.name = "broken";
  broken.kind = btf::FieldKind::Array;
  broken.count = 2;
  broken.size = 8;
  streams[0].plan.fields.insert(streams[0].plan.fields.begin(), outside);
  streams[0].plan.fields.insert(streams[0].plan.fields.begin() + 1, broken);
  choose_columns(streams, {});
  const auto* data = reinterpret_cast<const uint8_t*>(f.data.data());
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, data, f.data.size());
  auto j = nlohmann::json::parse(fmt::to_string(out));
  EXPECT_TRUE(j["outside"].is_null()) << fmt::to_string(out);
  EXPECT_TRUE(j["broken"].is_null()) << fmt::to_string(out);
  EXPECT_EQ(j["after"], 42);
  out.clear();
  EventWriter(Format::Table, streams).row(out, "00:00:00", 0, data, f.data.size());
  EXPECT_TRUE(fmt::to_string(out).starts_with("00:00:00 ?       ?      0x123")) << fmt::to_string(out);
  EXPECT_TRUE(fmt::to_string(out).ends_with(" 42\n")) << fmt::to_string(out);
  out.clear();
  EventWriter(Format::Csv, streams).row(out, "00:00:00", 0, data, f.data.size());
  EXPECT_TRUE(fmt::to_string(out).starts_with("00:00:00,?,?,0x123")) << fmt::to_string(out);
}

TEST(EventFormat, LargeShortEventsArePaddedWholly) {
  // Larger than any fixed scratch buffer: the last field is still read as zero, not past the record.
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  int u8 = btf__add_int(b.get(), "unsigned char", 1, 0);
  int s32 = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  int blob = btf__add_array(b.get(), s32, u8, 8192);
  int id = btf__add_struct(b.get(), "big", 8196);
  btf__add_field(b.get(), "first", s32, 0, 0);
  btf__add_field(b.get(), "blob", blob, 32, 0);
  std::vector<StreamFormat> streams(1);
  streams[0].plan = btf::build_render_plan(b.get(), id);
  choose_columns(streams, {"first"});
  int32_t first = 7;
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, reinterpret_cast<const uint8_t*>(&first), 4);
  EXPECT_EQ(fmt::to_string(out), "{\"time\":\"00:00:00\",\"first\":7}\n");
}

TEST(RenderPlan, CustomMembersAreThoseMembersAtTheirOffsets) {
  Fixture f;
  uint32_t u32 = btf__find_by_name_kind(f.btf.get(), "unsigned int", BTF_KIND_INT), comm = 0;
  const btf_type* root = btf__type_by_id(f.btf.get(), f.root);
  for (uint16_t i = 0; i < btf_vlen(root); i++)
    if (std::string(btf__name_by_offset(f.btf.get(), btf_members(root)[i].name_off)) == "comm")
      comm = btf_members(root)[i].type;
  ASSERT_GT(u32, 0u);
  ASSERT_GT(comm, 0u);
  btf::RenderPlan plan = btf::build_members_plan(f.btf.get(), "custom", {{"name", 33, comm}, {"count", 12, u32}});
  EXPECT_EQ(plan.size, 41u);  // the end of comm
  ASSERT_EQ(plan.fields.size(), 2u);
  EXPECT_EQ(plan.fields[0].kind, btf::FieldKind::String);
  EXPECT_EQ(plan.fields[1].offset, 12u);
  std::vector<StreamFormat> streams(1);
  streams[0].plan = plan;
  choose_columns(streams, {});
  std::string d = bytes();
  Buffer out;
  EventWriter(Format::Json, streams).row(out, "00:00:00", 0, reinterpret_cast<const uint8_t*>(d.data()), d.size());
  EXPECT_EQ(fmt::to_string(out), "{\"time\":\"00:00:00\",\"name\":\"bash\",\"count\":4000000000}\n");
  EXPECT_THROW(btf::build_members_plan(f.btf.get(), "custom", {{"bad", 0, 9999}}), Error);
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
