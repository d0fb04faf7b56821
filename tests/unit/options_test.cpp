#include <gtest/gtest.h>

#include <cstring>

#include "runtime/options.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

using btf::ValueKind;
using btf::ValueType;

ValueType integer(uint32_t size, bool is_signed, std::string name) {
  return {ValueKind::Integer, size, is_signed, {}, std::move(name)};
}

std::string error_of(const ValueType& type, const std::string& text) {
  try {
    encode_value(type, text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

int64_t as_signed(const std::string& bytes) {
  int64_t v = 0;
  std::memcpy(&v, bytes.data(), bytes.size());
  if (bytes.size() < 8 && (bytes.back() & 0x80)) v |= ~int64_t(0) << (bytes.size() * 8);
  return v;
}

uint64_t as_unsigned(const std::string& bytes) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data(), bytes.size());
  return v;
}

TEST(Values, IntegersOfEveryWidthAndSign) {
  EXPECT_EQ(as_signed(encode_value(integer(4, true, "pid_t"), "1234")), 1234);
  EXPECT_EQ(as_signed(encode_value(integer(4, true, "int"), "-2147483648")), INT32_MIN);
  EXPECT_EQ(as_signed(encode_value(integer(1, true, "__s8"), "-128")), -128);
  EXPECT_EQ(as_unsigned(encode_value(integer(1, false, "__u8"), "0xff")), 255u);
  EXPECT_EQ(as_signed(encode_value(integer(2, true, "short"), "-0x8000")), -32768);
  EXPECT_EQ(as_unsigned(encode_value(integer(2, false, "__u16"), "65535")), 65535u);
  EXPECT_EQ(as_unsigned(encode_value(integer(4, false, "uid_t"), "4294967295")), 4294967295u);
  EXPECT_EQ(as_unsigned(encode_value(integer(8, false, "u64"), "18446744073709551615")), UINT64_MAX);
  EXPECT_EQ(as_signed(encode_value(integer(8, true, "long"), "-9223372036854775808")), INT64_MIN);
  EXPECT_EQ(as_unsigned(encode_value(integer(8, false, "unsigned long"), "0o17")), 15u);
  EXPECT_EQ(as_unsigned(encode_value(integer(4, false, "__u32"), "0b101")), 5u);
  EXPECT_EQ(encode_value(integer(4, true, "int"), " 7 ").size(), 4u);
}

TEST(Values, RejectsMalformedIntegers) {
  EXPECT_EQ(error_of(integer(4, true, "pid_t"), "abc"), "'abc' is not an integer (expected pid_t (32-bit signed integer))");
  EXPECT_EQ(error_of(integer(4, true, "int"), "12abc"), "'12abc' is not an integer (expected int (32-bit signed integer))");
  EXPECT_EQ(error_of(integer(4, true, "int"), ""), "'' is not an integer (expected int (32-bit signed integer))");
  EXPECT_EQ(error_of(integer(4, true, "int"), "0x"), "'0x' is not an integer (expected int (32-bit signed integer))");
  EXPECT_EQ(error_of(integer(4, true, "int"), "1.5"), "'1.5' is not an integer (expected int (32-bit signed integer))");
}

TEST(Values, RejectsOutOfRangeIntegers) {
  EXPECT_EQ(error_of(integer(4, true, "pid_t"), "99999999999"),
            "'99999999999' is out of range for pid_t (32-bit signed integer) (-2147483648..2147483647)");
  EXPECT_EQ(error_of(integer(4, true, "int"), "2147483648"),
            "'2147483648' is out of range for int (32-bit signed integer) (-2147483648..2147483647)");
  EXPECT_EQ(error_of(integer(1, false, "__u8"), "256"), "'256' is out of range for __u8 (8-bit unsigned integer) (0..255)");
  EXPECT_EQ(error_of(integer(4, false, "uid_t"), "-1"),
            "'-1' is out of range for uid_t (32-bit unsigned integer) (0..4294967295)");
  EXPECT_EQ(error_of(integer(8, false, "u64"), "18446744073709551616"),
            "'18446744073709551616' is out of range for u64 (64-bit unsigned integer) (0..18446744073709551615)");
  EXPECT_EQ(error_of(integer(8, true, "s64"), "9223372036854775808"),
            "'9223372036854775808' is out of range for s64 (64-bit signed integer) (-9223372036854775808..9223372036854775807)");
}

TEST(Values, BoolsEnumsStringsFloats) {
  ValueType boolean{ValueKind::Bool, 1, false, {}, "bool"};
  EXPECT_EQ(encode_value(boolean, "true"), std::string(1, '\1'));
  EXPECT_EQ(encode_value(boolean, "No"), std::string(1, '\0'));
  EXPECT_EQ(error_of(boolean, "maybe"), "'maybe' is not true or false");

  ValueType color{ValueKind::Enum, 4, false, {{"RED", 1}, {"BLUE", 40}}, "enum color"};
  EXPECT_EQ(as_unsigned(encode_value(color, "BLUE")), 40u);
  EXPECT_EQ(as_unsigned(encode_value(color, "7")), 7u);
  EXPECT_EQ(error_of(color, "PURPLE"), "'PURPLE' is not a value of enum color (one of RED, BLUE or a number)");
  EXPECT_EQ(format_value(color, encode_value(color, "40")), "BLUE");
  EXPECT_EQ(format_value(color, encode_value(color, "41")), "41");

  ValueType name{ValueKind::String, 8, false, {}, "char[8]"};
  EXPECT_EQ(encode_value(name, "bash"), std::string("bash\0\0\0\0", 8));
  EXPECT_EQ(encode_value(name, "1234567").size(), 8u);
  EXPECT_EQ(error_of(name, "12345678"), "'12345678' is 8 bytes long but char[8] holds at most 7");
  EXPECT_EQ(format_value(name, std::string("bash\0zz\0", 8)), "bash");

  ValueType real{ValueKind::Float, 8, false, {}, "double"};
  double d;
  std::string bytes = encode_value(real, "2.5");
  std::memcpy(&d, bytes.data(), 8);
  EXPECT_EQ(d, 2.5);
  EXPECT_EQ(error_of(real, "x"), "'x' is not a number (expected double (a number))");
}

TEST(Values, FormatsWhatItEncodes) {
  for (auto [type, text] : std::vector<std::pair<ValueType, std::string>>{
           {integer(4, true, "int"), "-5"}, {integer(8, false, "u64"), "18446744073709551615"},
           {integer(1, true, "s8"), "-1"}, {{ValueKind::Bool, 1, false, {}, "bool"}, "true"}})
    EXPECT_EQ(format_value(type, encode_value(type, text)), text);
}

// Options built from a hand-made metadata and variable list.
struct Fixture {
  package::Meta meta;
  std::vector<std::pair<btf::GlobalVariable, ValueType>> globals;
  Fixture() {
    package::Variable pid{"pid_filter", "pid_t", "Process to trace\nsecond line", nullptr, {}};
    package::Variable count{"count", "int", "", {{"default", 42}, {"short", "c"}, {"long", "max-count"}, {"help", "How many"}}, {}};
    package::Variable verbose{"verbose", "bool", "Say more", nullptr, {}};
    meta.data_sections.push_back({".rodata", {pid, count, verbose}});
    meta.doc = package::Doc{"1.2", "The brief", "The details", ""};
    globals.push_back({{"pid_filter", ".rodata", 0, 4, 1}, integer(4, true, "pid_t")});
    globals.push_back({{"count", ".rodata", 4, 4, 2}, integer(4, true, "int")});
    globals.push_back({{"verbose", ".rodata", 8, 1, 3}, {ValueKind::Bool, 1, false, {}, "bool"}});
    globals.push_back({{"opaque", ".bss", 0, 16, 4}, {ValueKind::Unsupported, 16, false, {}, "struct x"}});
  }
  ProgramOptions options() const {
    return ProgramOptions("ecli run prog.json", meta,
                          make_option_specs(meta, globals, [](const btf::GlobalVariable& v) {
                            return std::string(v.size, '\0');
                          }));
  }
};

TEST(ProgramOptions, ParsesValuesAndAppliesCmdargDefaults) {
  Fixture f;
  auto settings = f.options().parse({"--pid_filter", "77", "--verbose"});
  ASSERT_TRUE(settings);
  ASSERT_EQ(settings->size(), 3u);
  EXPECT_EQ((*settings)[0].var.name, "pid_filter");
  EXPECT_EQ(as_signed((*settings)[0].bytes), 77);
  EXPECT_EQ((*settings)[1].var.name, "count");
  EXPECT_EQ(as_signed((*settings)[1].bytes), 42);  // @cmdarg default
  EXPECT_EQ((*settings)[2].bytes, std::string(1, '\1'));
}

TEST(ProgramOptions, CmdargRenamesAndShortNames) {
  Fixture f;
  auto settings = f.options().parse({"-c", "5", "--verbose=false"});
  ASSERT_TRUE(settings);
  EXPECT_EQ(as_signed((*settings)[0].bytes), 5);
  EXPECT_EQ((*settings)[1].bytes, std::string(1, '\0'));
  settings = f.options().parse({"--max-count=9"});
  EXPECT_EQ(as_signed((*settings)[0].bytes), 9);
}

TEST(ProgramOptions, NoOptionsMeansNoSettingsButDefaults) {
  Fixture f;
  auto settings = f.options().parse({});
  ASSERT_TRUE(settings);
  ASSERT_EQ(settings->size(), 1u);
  EXPECT_EQ((*settings)[0].var.name, "count");
}

TEST(ProgramOptions, HelpIsGeneratedFromDocs) {
  Fixture f;
  EXPECT_FALSE(f.options().parse({"--help"}));
  std::string help = f.options().help();
  for (const char* text : {"The brief", "The details", "Usage: ecli run prog.json [OPTIONS]", "--pid_filter pid_t [0]",
                           "Process to trace", "-c,--max-count int [42]", "How many", "--verbose [false]", "Version: 1.2"})
    EXPECT_NE(help.find(text), std::string::npos) << text << "\n" << help;
  EXPECT_EQ(help.find("opaque"), std::string::npos);  // structs get no option
}

TEST(ProgramOptions, RejectsUnknownOptionsAndBadValues) {
  Fixture f;
  auto error_of = [&](std::vector<std::string> args) {
    try {
      f.options().parse(args);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error_of({"--nope", "1"}), "unknown program option --nope 1 (see `ecli run prog.json --help`)");
  EXPECT_EQ(error_of({"stray"}), "unknown program option stray (see `ecli run prog.json --help`)");
  EXPECT_EQ(error_of({"--pid_filter", "abc"}),
            "invalid value for --pid_filter: 'abc' is not an integer (expected pid_t (32-bit signed integer))");
  EXPECT_EQ(error_of({"--max-count", "99999999999"}),
            "invalid value for --max-count: '99999999999' is out of range for int (32-bit signed integer) "
            "(-2147483648..2147483647)");
  EXPECT_NE(error_of({"--pid_filter"}).find("--pid_filter"), std::string::npos);
}

}  // namespace
}  // namespace ecli::runtime
