#include "compiler/includes.hpp"

#include <algorithm>
#include <set>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::compiler {
namespace {

struct Include {
  std::string name;
  bool quoted = false;
};

// `#include "name"` and `#include <name>` lines (not computed includes).
std::vector<Include> includes_in(const std::string& text) {
  std::vector<Include> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    size_t i = text.find_first_not_of(" \t", pos);
    if (i < end && text[i] == '#') {
      i = text.find_first_not_of(" \t", i + 1);
      if (i < end && text.compare(i, 7, "include") == 0) {
        i = text.find_first_not_of(" \t", i + 7);
        if (i < end && (text[i] == '"' || text[i] == '<')) {
          char close = text[i] == '"' ? '"' : '>';
          size_t stop = text.find(close, i + 1);
          if (stop < end) out.push_back({text.substr(i + 1, stop - i - 1), close == '"'});
        }
      }
    }
    pos = end + 1;
  }
  return out;
}

}  // namespace

bool IncludeScan::mentions(const std::string& word) const {
  return std::any_of(texts.begin(), texts.end(), [&](const std::string& t) { return t.find(word) != std::string::npos; });
}

IncludeScan scan_includes(const std::filesystem::path& source, const std::vector<std::filesystem::path>& user_dirs) {
  IncludeScan scan;
  std::set<std::filesystem::path> seen;
  std::vector<std::filesystem::path> pending = {source};
  while (!pending.empty()) {
    std::filesystem::path file = pending.back();
    pending.pop_back();
    std::error_code ec;
    std::filesystem::path key = std::filesystem::weakly_canonical(file, ec);
    if (!seen.insert(ec ? file : key).second) continue;
    std::string text;
    try {
      text = read_file(file);
    } catch (const Error&) {
      if (file == source) throw;
      continue;  // clang will report it
    }
    for (const Include& inc : includes_in(text)) {
      std::vector<std::filesystem::path> dirs;
      if (inc.quoted) dirs.push_back(file.parent_path());
      dirs.insert(dirs.end(), user_dirs.begin(), user_dirs.end());
      std::filesystem::path found;
      for (const auto& dir : dirs) {
        std::filesystem::path candidate = (dir.empty() ? "." : dir) / inc.name;
        if (std::filesystem::is_regular_file(candidate, ec)) {
          found = candidate;
          break;
        }
      }
      if (found.empty()) {
        scan.wants_vmlinux |= inc.name == "vmlinux.h";
      } else if (found.filename() != "vmlinux.h") {  // the user's own vmlinux.h is 100k+ lines of nothing to scan
        pending.push_back(found);
      }
    }
    scan.files.push_back(file);
    scan.texts.push_back(std::move(text));
  }
  return scan;
}

std::vector<std::filesystem::path> include_dirs_of(const std::vector<std::string>& flags) {
  std::vector<std::filesystem::path> dirs;
  for (size_t i = 0; i < flags.size(); i++) {
    for (std::string_view prefix : {"-iquote", "-I"}) {
      if (!flags[i].starts_with(prefix)) continue;
      if (flags[i].size() > prefix.size())
        dirs.emplace_back(flags[i].substr(prefix.size()));
      else if (i + 1 < flags.size())
        dirs.emplace_back(flags[++i]);
      break;
    }
  }
  return dirs;
}

}  // namespace ecli::compiler
