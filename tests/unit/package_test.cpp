#include <gtest/gtest.h>

#include "package/codec.hpp"
#include "package/package.hpp"
#include "util/error.hpp"

namespace ecli::package {
namespace {

// A minimal relocatable BPF ELF header is all the package layer checks.
std::string fake_bpf_object() {
  std::string elf(64, '\0');
  elf[0] = 0x7f, elf[1] = 'E', elf[2] = 'L', elf[3] = 'F';
  elf[4] = 2;   // ELFCLASS64
  elf[5] = 1;   // little endian
  elf[16] = 1;  // ET_REL
  elf[18] = static_cast<char>(247);  // EM_BPF
  return elf + "payload";
}

Package sample_package() {
  Package p;
  p.object = fake_bpf_object();
  p.meta.obj_name = "hello_bpf";
  Variable v;
  v.name = "pid_filter";
  v.type = "pid_t";
  v.description = "line one\nline two";
  v.cmdarg = {{"short", "p"}, {"default", 3}};
  v.extra = {{"future", 1}};
  p.meta.data_sections.push_back({".rodata", {v}});
  p.meta.maps.push_back({"hists", "hists", false, {{"interval", 1000}, {"type", "log2_hist"}}, Json::object()});
  p.meta.progs.push_back({"handle_tp", "tp/syscalls/sys_enter_write", true, {{"tchook", {{"ifindex", 1}}}}});
  p.meta.doc = Doc{"1.0", "brief", "details", "desc"};
  p.meta.export_types.push_back({"event", {{"pid", "int"}, {"comm", "char[16]"}}, 20, 7});
  p.meta.eunomia_version = "0.3.4";
  return p;
}

std::string error_of(const std::string& text) {
  try {
    parse_package(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(Package, RoundTripsThroughOurReader) {
  Package original = sample_package();
  Package again = parse_package(write_package(original));
  EXPECT_EQ(again.object, original.object);
  EXPECT_EQ(meta_to_json(again.meta), meta_to_json(original.meta));
  EXPECT_EQ(again.meta.data_sections[0].variables[0].description, "line one\nline two");
  EXPECT_EQ(again.meta.progs[0].extra["tchook"]["ifindex"], 1);
  EXPECT_EQ(again.meta.maps[0].sample["type"], "log2_hist");
}

TEST(Package, WritesEunomiaLayout) {
  Json j = Json::parse(write_package(sample_package()));
  EXPECT_TRUE(j["bpf_object"].is_string());
  EXPECT_EQ(j["bpf_object_size"], fake_bpf_object().size());
  EXPECT_EQ(j["meta"]["bpf_skel"]["obj_name"], "hello_bpf");
  EXPECT_EQ(j["meta"]["bpf_skel"]["data_sections"][0]["variables"][0]["future"], 1);
  EXPECT_EQ(j["meta"]["export_types"][0]["members"][1]["type"], "char[16]");
  EXPECT_EQ(j["meta"]["eunomia_version"], "0.3.4");
}

TEST(Package, NullListsAndUnknownKeysAreAccepted) {
  Json j = Json::parse(write_package(sample_package()));
  j["meta"]["bpf_skel"]["maps"] = nullptr;
  j["meta"]["bpf_skel"]["progs"] = nullptr;
  j["meta"]["export_types"] = nullptr;
  j["meta"]["bpf_skel"]["data_sections"][0]["variables"] = nullptr;
  j["unknown"] = {{"x", 1}};
  j["meta"]["bpf_skel"]["new_thing"] = "y";
  Package p = parse_package(j.dump());
  EXPECT_TRUE(p.meta.maps.empty());
  EXPECT_TRUE(p.meta.progs.empty());
  EXPECT_TRUE(p.meta.export_types.empty());
  // Unknown keys survive a round trip.
  Json again = Json::parse(write_package(p));
  EXPECT_EQ(again["unknown"]["x"], 1);
  EXPECT_EQ(again["meta"]["bpf_skel"]["new_thing"], "y");
}

TEST(Package, AcceptsMissingMeta) {
  Json j = Json::parse(write_package(sample_package()));
  j.erase("meta");
  EXPECT_TRUE(parse_package(j.dump()).meta.progs.empty());
}

TEST(Package, RejectsEmptyText) { EXPECT_EQ(error_of("  \n"), "package is empty"); }

TEST(Package, RejectsInvalidJson) {
  EXPECT_EQ(error_of("{\"bpf_object\": "), "package is not valid JSON: parse error at line 1, column 16: syntax error "
                                             "while parsing value - unexpected end of input; expected '[', '{', or a "
                                             "literal");
}

TEST(Package, RejectsNonObjectJson) { EXPECT_EQ(error_of("[1,2]"), "package must be a JSON object"); }

TEST(Package, RejectsTruncatedPackage) {
  std::string text = write_package(sample_package());
  EXPECT_NE(error_of(text.substr(0, text.size() - 10)).find("is not valid JSON"), std::string::npos);
}

TEST(Package, RejectsMissingObject) { EXPECT_EQ(error_of("{\"meta\": {}}"), "package is missing bpf_object"); }

TEST(Package, RejectsMistypedFields) {
  Json j = Json::parse(write_package(sample_package()));
  j["bpf_object_size"] = "big";
  EXPECT_EQ(error_of(j.dump()), "package field bpf_object_size must be a non-negative integer");
  j = Json::parse(write_package(sample_package()));
  j["meta"]["export_types"][0]["size"] = 4294967296ull;  // was cut to 0
  EXPECT_EQ(error_of(j.dump()), "package field meta.export_types[0].size is too large");
  j = Json::parse(write_package(sample_package()));
  j["meta"]["stack_fields"] = {{"struct key_t", {{"stack", {{"kind", "id"}, {"user", "yes"}}}}}};
  EXPECT_EQ(error_of(j.dump()), "package field meta.stack_fields.struct key_t.stack.user must be true or false");
  j = Json::parse(write_package(sample_package()));
  j["meta"]["bpf_skel"]["maps"] = 3;
  EXPECT_EQ(error_of(j.dump()), "package field meta.bpf_skel.maps must be a list");
  j = Json::parse(write_package(sample_package()));
  j["meta"]["bpf_skel"]["progs"][0]["name"] = 5;
  EXPECT_EQ(error_of(j.dump()), "package field meta.bpf_skel.progs[0].name must be a string");
  j = Json::parse(write_package(sample_package()));
  j["meta"]["bpf_skel"]["progs"][0] = "x";
  EXPECT_EQ(error_of(j.dump()), "package field meta.bpf_skel.progs[0] must be an object");
}

TEST(Package, RejectsInvalidBase64) {
  Json j = Json::parse(write_package(sample_package()));
  j["bpf_object"] = "abc$def";
  EXPECT_EQ(error_of(j.dump()), "bpf_object is not valid base64 (unexpected character at offset 3)");
  j["bpf_object"] = "abcde";
  EXPECT_EQ(error_of(j.dump()), "bpf_object is not valid base64 (truncated)");
}

TEST(Package, RejectsSizeMismatch) {
  Json j = Json::parse(write_package(sample_package()));
  size_t size = j["bpf_object_size"];
  j["bpf_object_size"] = size + 5;
  EXPECT_EQ(error_of(j.dump()), "bpf_object inflates to " + std::to_string(size) + " bytes but bpf_object_size says " +
                                    std::to_string(size + 5));
  j["bpf_object_size"] = size - 1;
  EXPECT_EQ(error_of(j.dump()),
            "bpf_object inflates to more than the " + std::to_string(size - 1) + " bytes that bpf_object_size says");
  j["bpf_object_size"] = uint64_t(1) << 40;
  EXPECT_NE(error_of(j.dump()).find("is not a plausible object size"), std::string::npos);
}

TEST(Package, RejectsTruncatedCompressedObject) {
  std::string compressed = zlib_compress(fake_bpf_object());
  Json j = Json::parse(write_package(sample_package()));
  j["bpf_object"] = base64_encode(compressed.substr(0, compressed.size() / 2));
  EXPECT_EQ(error_of(j.dump()), "bpf_object is truncated (the compressed data ends early)");
}

TEST(Package, RejectsObjectsThatAreNotBpfElf) {
  Json j = Json::parse(write_package(sample_package()));
  std::string text = "plain text, not ELF";
  j["bpf_object"] = base64_encode(zlib_compress(text));
  j["bpf_object_size"] = text.size();
  EXPECT_EQ(error_of(j.dump()), "the package's bpf_object is not an ELF file");
  std::string x86 = fake_bpf_object();
  x86[18] = 62;  // EM_X86_64
  j["bpf_object"] = base64_encode(zlib_compress(x86));
  j["bpf_object_size"] = x86.size();
  EXPECT_EQ(error_of(j.dump()),
            "the package's bpf_object is an ELF file but not a BPF object (compile it with clang -target bpf)");
}

TEST(Package, AcceptsUncompressedObject) {
  Json j = Json::parse(write_package(sample_package()));
  j["bpf_object"] = base64_encode(fake_bpf_object());
  EXPECT_EQ(parse_package(j.dump()).object, fake_bpf_object());
}

// Three event maps in eunomia's multiple-export form, one of each kind.
Package multi_export_package() {
  Package p = sample_package();
  p.meta.enable_multiple_export_types = true;
  Map by_id{"events", "events", false, nullptr, {{"event_type", "struct event"}}};
  by_id.export_config.kind = ExportConfig::Kind::BtfTypeId;
  by_id.export_config.btf_type_id = 7;
  Map custom{"pairs", "pairs", false, nullptr, Json::object()};
  custom.export_config.kind = ExportConfig::Kind::CustomMembers;
  custom.export_config.members = {{"pid", 0, 3}, {"comm", 4, 9}};
  Map quiet{"quiet", "quiet", false, nullptr, Json::object()};
  quiet.export_config.kind = ExportConfig::Kind::NoExport;
  p.meta.maps.push_back(by_id);
  p.meta.maps.push_back(custom);
  p.meta.maps.push_back(quiet);
  return p;
}

TEST(Package, WritesExportConfigAsTheReferenceDoes) {
  Json j = Json::parse(write_package(multi_export_package()));
  EXPECT_EQ(j["meta"]["enable_multiple_export_types"], true);
  const Json& maps = j["meta"]["bpf_skel"]["maps"];
  EXPECT_FALSE(maps[0].contains("export_config"));  // Default: no key
  EXPECT_EQ(maps[1]["event_type"], "struct event");
  EXPECT_EQ(maps[1]["export_config"], Json::parse(R"({"btf_type_id": 7})"));
  EXPECT_EQ(maps[2]["export_config"], Json::parse(R"({"custom_members": [{"name": "pid", "offset": 0, "btf_type_id": 3},
                                                                         {"name": "comm", "offset": 4, "btf_type_id": 9}]})"));
  EXPECT_EQ(maps[3]["export_config"], "NoExport");
  // Without several streams the switch is not written at all.
  EXPECT_FALSE(Json::parse(write_package(sample_package()))["meta"].contains("enable_multiple_export_types"));
}

TEST(Package, ExportConfigRoundTrips) {
  Package original = multi_export_package();
  Package again = parse_package(write_package(original));
  EXPECT_EQ(meta_to_json(again.meta), meta_to_json(original.meta));
  EXPECT_TRUE(again.meta.enable_multiple_export_types);
  ASSERT_EQ(again.meta.maps.size(), 4u);
  EXPECT_EQ(again.meta.maps[0].export_config.kind, ExportConfig::Kind::Default);
  EXPECT_EQ(again.meta.maps[1].export_config.kind, ExportConfig::Kind::BtfTypeId);
  EXPECT_EQ(again.meta.maps[1].export_config.btf_type_id, 7u);
  EXPECT_EQ(again.meta.maps[1].extra["event_type"], "struct event");
  EXPECT_FALSE(again.meta.maps[1].extra.contains("export_config"));  // modelled, not kept twice
  ASSERT_EQ(again.meta.maps[2].export_config.kind, ExportConfig::Kind::CustomMembers);
  ASSERT_EQ(again.meta.maps[2].export_config.members.size(), 2u);
  EXPECT_EQ(again.meta.maps[2].export_config.members[1].name, "comm");
  EXPECT_EQ(again.meta.maps[2].export_config.members[1].offset, 4u);
  EXPECT_EQ(again.meta.maps[2].export_config.members[1].btf_type_id, 9u);
  EXPECT_EQ(again.meta.maps[3].export_config.kind, ExportConfig::Kind::NoExport);
}

TEST(Package, ReadsSerdeSpellingsOfExportConfig) {
  Json j = Json::parse(write_package(multi_export_package()));
  j["meta"]["bpf_skel"]["maps"][0]["export_config"] = "Default";
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = {{"ExportUseBtf", 11}};
  j["meta"]["bpf_skel"]["maps"][2]["export_config"] = {
      {"ExportUseCustomMembers", {{{"name", "x"}, {"offset", 8}, {"btf_type_id", 2}}}}};
  j["meta"]["bpf_skel"]["maps"][3]["export_config"] = "no_export";
  Package p = parse_package(j.dump());
  EXPECT_EQ(p.meta.maps[0].export_config.kind, ExportConfig::Kind::Default);
  EXPECT_EQ(p.meta.maps[1].export_config.btf_type_id, 11u);
  ASSERT_EQ(p.meta.maps[2].export_config.members.size(), 1u);
  EXPECT_EQ(p.meta.maps[2].export_config.members[0].offset, 8u);
  EXPECT_EQ(p.meta.maps[3].export_config.kind, ExportConfig::Kind::NoExport);
}

TEST(Package, RejectsMalformedExportConfig) {
  Json j = Json::parse(write_package(multi_export_package()));
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = {{"btf_type_id", "seven"}};
  EXPECT_EQ(error_of(j.dump()), "package field meta.bpf_skel.maps[1].export_config.btf_type_id must be a non-negative integer");
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = {{"custom_members", {{{"name", "x"}, {"btf_type_id", 2}}}}};
  EXPECT_EQ(error_of(j.dump()), "package is missing meta.bpf_skel.maps[1].export_config.custom_members[0].offset");
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = "Sometimes";
  EXPECT_NE(error_of(j.dump()).find("package field meta.bpf_skel.maps[1].export_config is \"Sometimes\""),
            std::string::npos);
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = 3;
  EXPECT_NE(error_of(j.dump()).find("package field meta.bpf_skel.maps[1].export_config must be \"NoExport\""),
            std::string::npos);
  j["meta"]["bpf_skel"]["maps"][1]["export_config"] = {{"btf_type_id", 1}};
  j["meta"]["enable_multiple_export_types"] = "yes";
  EXPECT_EQ(error_of(j.dump()), "package field meta.enable_multiple_export_types must be true or false");
}

TEST(Codec, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 300; i++) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
    bytes += static_cast<char>(i * 7);
  }
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9v\nYmFy"), "foobar");
}

}  // namespace
}  // namespace ecli::package
