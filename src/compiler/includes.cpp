#include "compiler/includes.hpp"

#include <algorithm>
#include <cctype>
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

namespace {

bool identifier_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `text` with comments, string and character literals blanked (newlines kept).
std::string code_only(const std::string& text) {
  std::string out = text;
  size_t i = 0;
  auto blank = [&](size_t from, size_t to) {
    for (size_t k = from; k < to && k < out.size(); k++)
      if (out[k] != '\n') out[k] = ' ';
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      size_t end = text.find('\n', i);
      if (end == std::string::npos) end = text.size();
      blank(i, end);
      i = end;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t end = text.find("*/", i + 2);
      end = end == std::string::npos ? text.size() : end + 2;
      blank(i, end);
      i = end;
    } else if (c == '"' || c == '\'') {
      size_t k = i + 1;
      while (k < text.size() && text[k] != c && text[k] != '\n') k += text[k] == '\\' ? 2 : 1;
      blank(i, k + 1);
      i = k + 1;
    } else {
      i++;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> defined_struct_names(const std::vector<std::string>& texts) {
  std::vector<std::string> names;
  for (const auto& original : texts) {
    std::string text = code_only(original);
    for (size_t at = text.find("struct"); at != std::string::npos; at = text.find("struct", at + 6)) {
      if ((at > 0 && identifier_char(text[at - 1])) || (at + 6 < text.size() && identifier_char(text[at + 6]))) continue;
      size_t begin = text.find_first_not_of(" \t\r\n", at + 6);
      if (begin == std::string::npos || !(std::isalpha(static_cast<unsigned char>(text[begin])) || text[begin] == '_'))
        continue;
      size_t end = begin;
      while (end < text.size() && identifier_char(text[end])) end++;
      size_t brace = text.find_first_not_of(" \t\r\n", end);
      if (brace == std::string::npos || text[brace] != '{') continue;
      std::string name = text.substr(begin, end - begin);
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
  }
  return names;
}

std::string leading_system_includes(const std::string& text, const std::vector<std::filesystem::path>& user_dirs) {
  auto ours = [&](const std::string& name) {
    static const std::set<std::string> libbpf = {"bpf/bpf_helpers.h", "bpf/bpf_tracing.h", "bpf/bpf_core_read.h",
                                                 "bpf/bpf_endian.h"};
    if (name != "vmlinux.h" && !libbpf.count(name) && !name.starts_with("linux/")) return false;
    if (name.find("..") != std::string::npos) return false;
    std::error_code ec;
    for (const auto& dir : user_dirs)
      if (std::filesystem::exists((dir.empty() ? "." : dir) / name, ec)) return false;
    return true;
  };
  std::string prefix;
  size_t pos = 0;
  bool in_comment = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    // Comments (whole lines, or after an include) and blank space are skipped.
    std::string rest;
    for (size_t i = 0; i < line.size();) {
      if (in_comment) {
        size_t close = line.find("*/", i);
        if (close == std::string_view::npos) break;
        in_comment = false;
        i = close + 2;
      } else if (line.substr(i, 2) == "/*") {
        in_comment = true;
        i += 2;
      } else if (line.substr(i, 2) == "//") {
        break;
      } else {
        rest += line[i] == '\t' ? ' ' : line[i];
        i++;
      }
    }
    size_t first = rest.find_first_not_of(" \r");
    if (first == std::string::npos) continue;
    rest = rest.substr(first, rest.find_last_not_of(" \r") - first + 1);
    // `#include <name>` or `#include "name"` and nothing more.
    if (rest[0] != '#') break;
    size_t i = rest.find_first_not_of(' ', 1);
    if (i == std::string::npos || rest.compare(i, 7, "include") != 0) break;
    i = rest.find_first_not_of(' ', i + 7);
    if (i == std::string::npos || (rest[i] != '<' && rest[i] != '"')) break;
    size_t close = rest.find(rest[i] == '<' ? '>' : '"', i + 1);
    if (close == std::string::npos || close + 1 != rest.size()) break;
    std::string name = rest.substr(i + 1, close - i - 1);
    if (!ours(name) || (prefix.empty() && name != "vmlinux.h")) break;
    prefix += "#include <" + name + ">\n";
  }
  return prefix;
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
