// Values as people read them (output/value_format.hpp): each --format kind on
// fixed bytes, the rules that choose a format from the C type, annotations and
// --format on a plan, and bad --format arguments.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/btf.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "btf/render_plan.hpp"
#include "compiler/docs_reader.hpp"
#include "output/event_format.hpp"
#include "output/value_format.hpp"
#include "symbols/kallsyms.hpp"
#include "util/error.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;

FieldPlan integer(std::string name, uint32_t size, bool is_signed, ValueFormat format, uint32_t offset = 0) {
  FieldPlan f;
  f.name = std::move(name);
  f.kind = is_signed ? FieldKind::Signed : FieldKind::Unsigned;
  f.size = size;
  f.offset = offset;
  f.format = format;
  return f;
}

FieldPlan bytes(std::string name, uint32_t count, ValueFormat format, uint32_t offset = 0) {
  FieldPlan f;
  f.name = std::move(name);
  f.kind = FieldKind::Array;
  f.count = count;
  f.size = count;
  f.offset = offset;
  f.element = std::make_shared<FieldPlan>(integer("", 1, false, ValueFormat::None));
  f.format = format;
  return f;
}

std::string text(const FieldPlan& f, const void* data, Style style = Style::Text, size_t avail = 64) {
  Buffer out;
  append_value(out, f, static_cast<const uint8_t*>(data), style, avail);
  return std::string(out.data(), out.size());
}

template <typename T>
std::string of(const FieldPlan& f, T value, Style style = Style::Text) {
  uint8_t data[64] = {};
  std::memcpy(data, &value, sizeof value);
  return text(f, data, style);
}

TEST(ValueFormat, Ipv4AndIpv6) {
  uint8_t v4[4] = {10, 0, 0, 1};
  EXPECT_EQ(text(integer("saddr", 4, false, ValueFormat::Ipv4), v4), "10.0.0.1");
  EXPECT_EQ(text(integer("saddr", 4, false, ValueFormat::Ipv4), v4, Style::Json), "\"10.0.0.1\"");
  EXPECT_EQ(text(bytes("saddr", 4, ValueFormat::Ipv4), v4), "10.0.0.1");
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(text(bytes("daddr", 16, ValueFormat::Ipv6), v6), "2001:db8::1");
  EXPECT_EQ(text(bytes("daddr", 16, ValueFormat::Ipv6), v6, Style::Json), "\"2001:db8::1\"");
}

TEST(ValueFormat, IpFollowsTheFamily) {
  // struct { __u16 af; __u8 pad[2]; __u8 addr[16]; }
  FieldPlan addr = bytes("addr", 16, ValueFormat::Ip, 4);
  addr.family_offset = 0;
  addr.family_size = 2;
  uint8_t data[20] = {AF_INET, 0, 0, 0, 192, 168, 1, 2};
  EXPECT_EQ(text(addr, data), "192.168.1.2");
  data[0] = AF_INET6;
  std::memset(data + 4, 0, 16);
  data[19] = 1;
  EXPECT_EQ(text(addr, data), "::1");
  // A 4-byte field of an IPv6 event holds no address.
  FieldPlan v4 = integer("saddr", 4, false, ValueFormat::Ip, 4);
  v4.family_offset = 0;
  v4.family_size = 2;
  EXPECT_EQ(text(v4, data), "-");
  EXPECT_EQ(text(v4, data, Style::Json), "null");
  // Without a family field, by size.
  FieldPlan lone = bytes("addr", 4, ValueFormat::Ip);
  uint8_t four[4] = {127, 0, 0, 1};
  EXPECT_EQ(text(lone, four), "127.0.0.1");
}

TEST(ValueFormat, Port) {
  FieldPlan port = integer("dport", 2, false, ValueFormat::Port);
  EXPECT_EQ(of(port, htons(443)), "443");
  EXPECT_EQ(of(port, htons(8080), Style::Json), "8080");
}

TEST(ValueFormat, Errno) {
  FieldPlan ret = integer("ret", 4, true, ValueFormat::Errno);
  EXPECT_EQ(of(ret, int32_t(-2)), "-ENOENT");
  EXPECT_EQ(of(ret, int32_t(-13), Style::Json), "\"-EACCES\"");
  EXPECT_EQ(of(ret, int32_t(3)), "3");  // a file descriptor, not an error
  EXPECT_EQ(of(ret, int32_t(0), Style::Json), "0");
  EXPECT_EQ(of(ret, int32_t(-100000)), "-100000");
  // An unsigned 8-byte return holding -ENOENT.
  EXPECT_EQ(of(integer("ret", 8, false, ValueFormat::Errno), int64_t(-2)), "-ENOENT");
}

TEST(ValueFormat, Signal) {
  FieldPlan sig = integer("sig", 4, true, ValueFormat::Signal);
  EXPECT_EQ(of(sig, int32_t(15)), "SIGTERM");
  EXPECT_EQ(of(sig, int32_t(9), Style::Json), "\"SIGKILL\"");
  EXPECT_EQ(of(sig, int32_t(0)), "0");
}

TEST(ValueFormat, OpenFlags) {
  FieldPlan flags = integer("flags", 4, true, ValueFormat::OpenFlags);
  EXPECT_EQ(of(flags, int32_t(0)), "O_RDONLY");
  EXPECT_EQ(of(flags, int32_t(02000000)), "O_RDONLY|O_CLOEXEC");  // 524288
  EXPECT_EQ(of(flags, int32_t(01 | 0100 | 01000)), "O_WRONLY|O_CREAT|O_TRUNC");
  EXPECT_EQ(of(flags, int32_t(02 | 04010000)), "O_RDWR|O_SYNC");
  EXPECT_EQ(of(flags, int32_t(020200000)), "O_RDONLY|O_TMPFILE");
  EXPECT_EQ(of(flags, int32_t(0200000 | 0x40000000), Style::Json), "\"O_RDONLY|O_DIRECTORY|0x40000000\"");
}

TEST(ValueFormat, Hex) {
  EXPECT_EQ(of(integer("mask", 4, false, ValueFormat::Hex), uint32_t(0x1f)), "0x1f");
  EXPECT_EQ(of(integer("mask", 4, true, ValueFormat::Hex), int32_t(-1), Style::Json), "\"0xffffffff\"");
  uint8_t raw[4] = {0xde, 0xad, 0xbe, 0xef};
  EXPECT_EQ(text(bytes("raw", 4, ValueFormat::Hex), raw), "0xdeadbeef");
}

TEST(ValueFormat, Durations) {
  FieldPlan ns = integer("delta", 8, false, ValueFormat::Ns);
  EXPECT_EQ(of(ns, uint64_t(999)), "999ns");
  EXPECT_EQ(of(ns, uint64_t(1250000)), "1.25ms");
  EXPECT_EQ(of(ns, uint64_t(1500)), "1.5us");
  EXPECT_EQ(of(ns, uint64_t(2000000000)), "2s");
  EXPECT_EQ(of(ns, uint64_t(1250000), Style::Json), "1250000");  // JSON keeps the number
  EXPECT_EQ(of(integer("lat", 4, false, ValueFormat::Us), uint32_t(1250)), "1.25ms");
  EXPECT_EQ(of(integer("lat", 4, false, ValueFormat::Us), uint32_t(12)), "12us");
  EXPECT_EQ(of(integer("t", 4, true, ValueFormat::Ms), int32_t(-1500)), "-1.5s");
}

TEST(ValueFormat, Ksym) {
  symbols::Kallsyms symbols(
      "ffffffff81000000 T _stext\n"
      "ffffffff81001000 t do_one\n"
      "ffffffff81002000 D some_data\n"
      "ffffffffc0000000 t mod_fn\t[mod]\n");
  ASSERT_EQ(symbols.size(), 3u);
  auto hit = symbols.lookup(0xffffffff81001010);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->name, "do_one");
  EXPECT_EQ(hit->offset, 0x10u);
  EXPECT_EQ(symbols.lookup(0xffffffffc0000004)->name, "mod_fn");
  EXPECT_FALSE(symbols.lookup(0x1000));
  EXPECT_FALSE(symbols.lookup(0));
  // By name, as kprobe targets are checked: code only, modules included.
  EXPECT_TRUE(symbols.has_function("do_one"));
  EXPECT_TRUE(symbols.has_function("mod_fn"));
  EXPECT_FALSE(symbols.has_function("some_data"));
  EXPECT_FALSE(symbols.has_function("do_on"));
  // Through the formatter: some symbol or the address, always a JSON string.
  std::string json = of(integer("ip", 8, false, ValueFormat::Ksym), uint64_t(0x10), Style::Json);
  EXPECT_EQ(json, "\"0x10\"");
}

TEST(ValueFormat, Misfits) {
  EXPECT_EQ(format_misfit(integer("saddr", 4, false, ValueFormat::None), ValueFormat::Ipv4), "");
  EXPECT_EQ(format_misfit(integer("ts", 8, false, ValueFormat::None), ValueFormat::Ipv4),
            "ipv4 needs 4 bytes, and ts has 8 bytes");
  EXPECT_EQ(format_misfit(integer("saddr", 4, false, ValueFormat::None), ValueFormat::Ipv6),
            "ipv6 needs 16 bytes, and saddr has 4 bytes");
  EXPECT_NE(format_misfit(integer("pid", 4, false, ValueFormat::None), ValueFormat::Port), "");
  FieldPlan comm;
  comm.name = "comm";
  comm.kind = FieldKind::String;
  comm.size = 16;
  comm.c_type = "char[16]";
  EXPECT_NE(format_misfit(comm, ValueFormat::Errno), "");
  EXPECT_EQ(format_misfit(comm, ValueFormat::Hex), "");
}

// struct conn { __u16 af; __be16 dport; __be32 saddr; __u32 daddr; __be16 lport_raw_u16... }
struct ConnFixture {
  std::unique_ptr<struct btf, decltype(&btf__free)> btf{btf__new_empty(), btf__free};
  uint32_t root = 0;
  ConnFixture() {
    struct btf* b = btf.get();
    int u8 = btf__add_int(b, "unsigned char", 1, 0);
    int u16 = btf__add_int(b, "unsigned short", 2, 0);
    int u32 = btf__add_int(b, "unsigned int", 4, 0);
    int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
    int be16 = btf__add_typedef(b, "__be16", u16);
    int be32 = btf__add_typedef(b, "__be32", u32);
    int u8_t = btf__add_typedef(b, "__u8", u8);
    int u16_t = btf__add_typedef(b, "__u16", u16);
    int v6 = btf__add_array(b, s32, u8_t, 16);
    int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
    int comm = btf__add_array(b, s32, chr, 16);
    root = btf__add_struct(b, "conn", 52);
    btf__add_field(b, "af", u16_t, 0, 0);           // 0
    btf__add_field(b, "dport", be16, 16, 0);        // 2
    btf__add_field(b, "saddr", be32, 32, 0);        // 4
    btf__add_field(b, "daddr_host", u32, 64, 0);    // 8: a plain integer stays a number
    btf__add_field(b, "saddr_v6", v6, 96, 0);       // 12
    btf__add_field(b, "sport", u16_t, 224, 0);      // 28: host order, not __be16: a number
    btf__add_field(b, "ret", s32, 256, 0);          // 32
    btf__add_field(b, "comm", comm, 288, 0);        // 36
  }
};

TEST(ValueFormat, AutoRulesFromTheCType) {
  ConnFixture fx;
  btf::RenderPlan plan = btf::build_render_plan(fx.btf.get(), fx.root);
  FieldFormats none;
  apply_formats(plan, "events", none);
  std::map<std::string, ValueFormat> got;
  for (auto& f : plan.fields) got[f.name] = f.format;
  EXPECT_EQ(got["dport"], ValueFormat::Port);
  EXPECT_EQ(got["saddr"], ValueFormat::Ip);
  EXPECT_EQ(got["saddr_v6"], ValueFormat::Ipv6);
  EXPECT_EQ(got["daddr_host"], ValueFormat::None);
  EXPECT_EQ(got["sport"], ValueFormat::None);
  EXPECT_EQ(got["ret"], ValueFormat::None);
  EXPECT_EQ(got["af"], ValueFormat::None);
  EXPECT_EQ(got["comm"], ValueFormat::None);
  EXPECT_TRUE(none.warnings.empty());

  uint8_t data[64] = {};
  data[0] = AF_INET;
  uint16_t port = htons(80);
  std::memcpy(data + 2, &port, 2);
  uint8_t addr[4] = {10, 1, 2, 3};
  std::memcpy(data + 4, addr, 4);
  std::vector<StreamFormat> streams(1);
  streams[0].name = "events";
  streams[0].plan = plan;
  choose_columns(streams, {"saddr", "dport"});
  EventWriter json(Format::Json, streams);
  Buffer out;
  json.row(out, "12:00:00", 0, data, sizeof data);
  EXPECT_EQ(std::string(out.data(), out.size()), "{\"time\":\"12:00:00\",\"saddr\":\"10.1.2.3\",\"dport\":80}\n");
}

TEST(ValueFormat, AnnotationsAndRequests) {
  ConnFixture fx;
  btf::RenderPlan plan = btf::build_render_plan(fx.btf.get(), fx.root);
  FieldFormats formats = parse_field_formats(
      {"ret=errno", "events.saddr=hex", "other.af=hex", "nosuch=hex", "comm=ipv4"},
      nlohmann::ordered_json::parse(R"({"struct conn": {"sport": "port", "af": "bogus"}})"));
  apply_formats(plan, "events", formats);
  std::map<std::string, ValueFormat> got;
  for (auto& f : plan.fields) got[f.name] = f.format;
  EXPECT_EQ(got["ret"], ValueFormat::Errno);
  EXPECT_EQ(got["saddr"], ValueFormat::Hex);   // --format wins over the rule
  EXPECT_EQ(got["sport"], ValueFormat::Port);  // @format
  EXPECT_EQ(got["af"], ValueFormat::None);     // other.af names another map
  EXPECT_EQ(got["comm"], ValueFormat::None);   // does not fit: ignored
  ASSERT_EQ(formats.warnings.size(), 2u);
  EXPECT_EQ(formats.warnings[0], "@format bogus on struct conn.af is not a format (ipv4, ipv6, ip, port, errno, "
                                 "signal, open_flags, ksym, hex, ns, us, ms); ignored");
  EXPECT_EQ(formats.warnings[1], "--format comm=ipv4: ipv4 needs an address, and comm is char[16]; printed as usual");
  auto unmatched = unmatched_requests(formats);
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0], "--format other.af=hex: no event or map has a field other.af; ignored");
  EXPECT_EQ(unmatched[1], "--format nosuch=hex: no event or map has a field nosuch; ignored");
}

TEST(ValueFormat, AnnotationsReachIntoAnonymousUnions) {
  std::unique_ptr<struct btf, decltype(&btf__free)> owner{btf__new_empty(), btf__free};
  struct btf* b = owner.get();
  int u32 = btf__add_int(b, "unsigned int", 4, 0);
  int uni = btf__add_union(b, "", 4);
  btf__add_field(b, "addr4", u32, 0, 0);
  int root = btf__add_struct(b, "event", 8);
  btf__add_field(b, "pid", u32, 0, 0);
  btf__add_field(b, "", uni, 32, 0);
  btf::RenderPlan plan = btf::build_render_plan(b, root);
  FieldFormats formats = parse_field_formats({}, nlohmann::ordered_json::parse(R"({"struct event": {"addr4": "ipv4"}})"));
  apply_formats(plan, "events", formats);
  ASSERT_EQ(plan.fields.size(), 2u);
  ASSERT_EQ(plan.fields[1].members.size(), 1u);
  EXPECT_EQ(plan.fields[1].members[0].format, ValueFormat::Ipv4);
  uint8_t data[8] = {1, 0, 0, 0, 10, 0, 0, 7};
  EXPECT_EQ(text(plan.fields[1], data), "{addr4: 10.0.0.7}");
}

TEST(ValueFormat, ScalarMapKeysAndValues) {
  btf::RenderPlan plan;
  plan.type_name = "u64";
  plan.size = 8;
  plan.fields.push_back(integer("value", 8, false, ValueFormat::None));
  FieldFormats formats = parse_field_formats({"counts.key=ksym"}, nullptr);
  apply_formats(plan, "counts", formats, "key");
  EXPECT_EQ(plan.fields[0].format, ValueFormat::Ksym);
  EXPECT_TRUE(unmatched_requests(formats).empty());

  // A global's `@format` applies to its values.
  btf::RenderPlan value = plan;
  value.fields[0].format = ValueFormat::None;
  formats.globals["total_ns"] = "ns";
  apply_formats(value, "total_ns", formats, "value");
  EXPECT_EQ(value.fields[0].format, ValueFormat::Ns);
  formats.globals["addr"] = "ipv6";
  apply_formats(value, "addr", formats, "value");
  ASSERT_EQ(formats.warnings.size(), 1u);
  EXPECT_EQ(formats.warnings[0], "@format ipv6 on addr: ipv6 needs 16 bytes, and value has 8 bytes; ignored");
}

TEST(ValueFormat, EccReadsFormatsOfStructFields) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("ecli-format-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "x.bpf.c") << R"(
typedef unsigned int __u32;
struct event {
    __u32 pid;
    /// @format errno
    int ret;
    union {
        /** @format ipv4 */
        __u32 addr4;
        unsigned char addr6[16];
    };
    /// The flags given to open
    /// @format open_flags
    int flags;
    /// not a format
    int other;
};
struct event e;
)";
  compiler::SourceDocs docs = compiler::extract_docs((dir / "x.bpf.c").string(), {"-target", "bpf"});
  fs::remove_all(dir);
  std::map<std::string, std::map<std::string, std::string>> want{
      {"struct event", {{"ret", "errno"}, {"addr4", "ipv4"}, {"flags", "open_flags"}}}};
  EXPECT_EQ(docs.field_formats, want);
}

TEST(ValueFormat, BadArguments) {
  EXPECT_THROW(parse_field_formats({"saddr"}, nullptr), Error);
  EXPECT_THROW(parse_field_formats({"=ip"}, nullptr), Error);
  try {
    parse_field_formats({"saddr=ipv5"}, nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--format saddr=ipv5: 'ipv5' is not a format (ipv4, ipv6, ip, port, errno, signal, "
                           "open_flags, ksym, hex, ns, us, ms)");
  }
}

}  // namespace
}  // namespace ecli::output
