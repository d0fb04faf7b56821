#include "kernel/fixture.hpp"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

namespace ecli::test {
namespace {

// One cache for the whole run, so vmlinux.h and its PCH are built once.
const bool cache_set = [] {
  setenv("ECLI_CACHE_DIR", (fs::temp_directory_path() / "ecli-test-cache").c_str(), 0);
  return true;
}();

}  // namespace

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "ecli-test-XXXXXX").string();
  path_ = mkdtemp(pattern.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string ecli_bin() { return ECLI_BIN; }
std::string ecc_bin() { return ECC_BIN; }

fs::path example_source(const std::string& name) {
  return fs::path(ECLI_SOURCE_DIR) / "examples" / name / (name + ".bpf.c");
}

namespace {

std::string package_of(const fs::path& source) {
  static std::map<fs::path, std::string> built;
  static TempDir* root = new TempDir();  // lives for the whole run
  if (auto it = built.find(source); it != built.end()) return it->second;
  fs::path out = root->path() / std::to_string(built.size());
  Result r = run({ecc_bin(), "-o", out.string(), source.string()});
  EXPECT_EQ(r.code, 0) << r.err;
  return built[source] = (out / "package.json").string();
}

}  // namespace

std::string example_package(const std::string& name) { return package_of(example_source(name)); }

std::string test_package(const std::string& name) {
  return package_of(fs::path(ECLI_SOURCE_DIR) / "tests" / "data" / (name + ".bpf.c"));
}

std::vector<std::string> ecli_run(std::vector<std::string> args) {
  args.insert(args.begin(), {ecli_bin(), "run"});
  return args;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (auto& line : split_lines(text))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::vector<nlohmann::json> rows_of(const std::string& out, const std::string& map) {
  std::vector<nlohmann::json> rows;
  for (auto& row : json_lines(out))
    if (row.value("map", std::string()) == map) rows.push_back(row);
  return rows;
}

}  // namespace ecli::test
