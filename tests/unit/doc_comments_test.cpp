// clang attaches comments to declarations: globals, maps (comment above
// `struct {`), programs behind SEC() and macros, and LICENSE.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "compiler/clang_driver.hpp"
#include "compiler/docs_reader.hpp"
#include "compiler/ecc.hpp"
#include "util/files.hpp"

namespace ecli::compiler {
namespace {

namespace fs = std::filesystem;

class DocComments : public ::testing::Test {
 protected:
  fs::path dir = fs::temp_directory_path() / ("ecli-docs-" + std::to_string(getpid()));
  void SetUp() override { fs::create_directories(dir); }
  void TearDown() override { fs::remove_all(dir); }
  SourceDocs extract(const std::string& code) {
    fs::path file = dir / "x.bpf.c";
    std::ofstream(file) << code;
    return extract_docs(file.string(), {"-target", "bpf", "-I" + dir.string()});
  }
};

constexpr const char* kSource = R"(
#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define PROG(name) int name(void *ctx)

/// Process ID to trace
/// (0 means every process)
const volatile int pid_target = 0;

/// @cmdarg {"default": 10, "short": "m"}
const volatile unsigned long long min_us = 0;

/// @sample {"interval": 1000, "type": "log2_hist"}
struct {
    __uint(type, 1);
} hists SEC(".maps");

/// @tchook {"ifindex": 1, "attach_point": "BPF_TC_INGRESS"}
/// @tcopts {"handle": 1, "priority": 1}
SEC("tc")
int tc_ingress(void *ctx) { return 0; }

/// Through a macro
SEC("tp/x/y")
PROG(via_macro) { return 0; }

// not a doc comment
int plain = 1;

/// @brief A tool
/// @details It does things
/// @version 0.1
/// Longer description.
char LICENSE[] SEC("license") = "GPL";
)";

TEST_F(DocComments, GlobalsKeepMultiLineDescriptions) {
  SourceDocs docs = extract(kSource);
  EXPECT_EQ(docs.variables["pid_target"]["description"], "Process ID to trace\n(0 means every process)");
  EXPECT_EQ(docs.variables["min_us"]["cmdarg"]["short"], "m");
  EXPECT_EQ(docs.variables.count("plain"), 0u);
}

TEST_F(DocComments, MapCommentAboveStructIsTheMaps) {
  SourceDocs docs = extract(kSource);
  EXPECT_EQ(docs.variables["hists"]["sample"]["type"], "log2_hist");
}

TEST_F(DocComments, ProgramsBehindSecAndMacros) {
  SourceDocs docs = extract(kSource);
  EXPECT_EQ(docs.functions["tc_ingress"]["tchook"]["attach_point"], "BPF_TC_INGRESS");
  EXPECT_EQ(docs.functions["tc_ingress"]["tcopts"]["handle"], 1);
  EXPECT_EQ(docs.functions["via_macro"]["description"], "Through a macro");
}

TEST_F(DocComments, LicenseDocumentsTheTool) {
  SourceDocs docs = extract(kSource);
  package::Meta meta;
  merge_docs(meta, docs);
  ASSERT_TRUE(meta.doc);
  EXPECT_EQ(meta.doc->brief, "A tool");
  EXPECT_EQ(meta.doc->details, "It does things");
  EXPECT_EQ(meta.doc->version, "0.1");
  EXPECT_EQ(meta.doc->description, "Longer description.");
}

TEST_F(DocComments, WarnsAboutConstWithoutVolatile) {
  SourceDocs docs = extract("const int pid_filter = 0;\nconst volatile int fine = 0;\n");
  ASSERT_EQ(docs.warnings.size(), 1u);
  EXPECT_NE(docs.warnings[0].find("global 'pid_filter' is const but not volatile"), std::string::npos);
}

TEST_F(DocComments, MergeFillsVariablesMapsAndProgs) {
  SourceDocs docs = extract(kSource);
  package::Meta meta;
  meta.data_sections.push_back({".rodata", {{"pid_target", "int", "", nullptr, {}}, {"min_us", "unsigned long long", "", nullptr, {}}}});
  meta.maps.push_back({"hists", "hists", false, nullptr, {}});
  meta.progs.push_back({"tc_ingress", "tc", true, {}});
  merge_docs(meta, docs);
  EXPECT_EQ(meta.data_sections[0].variables[0].description, "Process ID to trace\n(0 means every process)");
  EXPECT_EQ(meta.data_sections[0].variables[1].cmdarg["default"], 10);
  EXPECT_EQ(meta.maps[0].sample["interval"], 1000);
  EXPECT_EQ(meta.progs[0].extra["tcopts"]["priority"], 1);
  EXPECT_FALSE(meta.progs[0].extra.contains("__location"));
}

// ecc-clang reads only PCHs of its own clang version: ecc gives it one it
// wrote itself, and a PCH of another clang (ecc --clang clang-14) is dropped, not fatal.
TEST_F(DocComments, ReadsWithItsOwnClangsPchAndDropsAnothers) {
  std::string reader = embedded_clang();
  ASSERT_FALSE(reader.empty()) << "ecc-clang is built with the tests";
  Clang own = describe_clang(reader);
  Clang other = describe_clang("clang-14");
  if (other.identity.empty()) GTEST_SKIP() << "clang-14, a clang of another version, is not installed";

  std::ofstream(dir / "defs.h") << "#ifndef DEFS_H\n#define DEFS_H\n"
                                   "#define SEC(name) __attribute__((section(name), used))\n#endif\n";
  fs::path file = dir / "x.bpf.c";
  std::ofstream(file) << "#include \"defs.h\"\n/// Described\nconst volatile int x SEC(\".rodata\") = 0;\n";
  std::vector<std::string> args = {"-target", "bpf", "-I" + dir.string()};
  fs::path own_pch = provide_pch(own, dir / "defs.h", args);
  fs::path other_pch = provide_pch(other, dir / "defs.h", args);
  ASSERT_FALSE(own_pch.empty());
  ASSERT_FALSE(other_pch.empty());
  EXPECT_NE(own_pch, other_pch);

  SourceDocs with_own = extract_docs(file.string(), args, own_pch.string());
  EXPECT_TRUE(with_own.read_with_pch);
  EXPECT_EQ(with_own.variables["x"]["description"], "Described");
  SourceDocs with_other = extract_docs(file.string(), args, other_pch.string());
  EXPECT_FALSE(with_other.read_with_pch);
  EXPECT_EQ(with_other.variables["x"]["description"], "Described");
}

// A copy of ecc without ecc-clang beside it says so in one line and fails.
TEST(EccClang, MissingBesideEccIsOneClearError) {
  fs::path dir = fs::temp_directory_path() / ("ecli-alone-ecc-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::copy_file(ECC_BIN, dir / "ecc");
  std::ofstream(dir / "x.bpf.c") << "int x;\n";
  std::string command = (dir / "ecc").string() + " -q " + (dir / "x.bpf.c").string() + " > " +
                        (dir / "out").string() + " 2>&1";
  int status = std::system(command.c_str());
  std::string out = read_file(dir / "out");
  fs::remove_all(dir);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(out, "ecc: cannot find ecc-clang, ecc's compiler, beside ecc (it is built and installed with it)\n");
}

}  // namespace
}  // namespace ecli::compiler
