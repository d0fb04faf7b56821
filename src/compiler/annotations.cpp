#include "compiler/annotations.hpp"

#include <string>
#include <vector>

namespace ecli::compiler {
namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// The text of each comment line without `///`, `/**`, `*/` or a leading `*`.
std::vector<std::string> comment_lines(std::string_view raw) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t nl = raw.find('\n', pos);
    std::string line = trim(raw.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    pos = nl == std::string_view::npos ? raw.size() + 1 : nl + 1;
    for (std::string_view lead : {"///<", "///", "//!", "//", "/**<", "/**", "/*!", "/*"}) {
      if (line.starts_with(lead)) {
        line = line.substr(lead.size());
        break;
      }
    }
    if (line.ends_with("*/")) line.resize(line.size() - 2);
    line = trim(line);
    if (line.starts_with('*')) line = trim(line.substr(1));
    lines.push_back(line);
  }
  return lines;
}

package::Json parse_value(const std::string& text) {
  if (text.empty()) return true;
  auto parsed = package::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  return text;
}

}  // namespace

// How many lines one annotation's JSON value may continue on.
constexpr size_t kMaxJsonLines = 200;

package::Json parse_doc_comment(std::string_view raw) {
  package::Json out = package::Json::object();
  std::vector<std::string> lines = comment_lines(raw);
  std::string description;
  for (size_t i = 0; i < lines.size(); i++) {
    const std::string& line = lines[i];
    if (!line.starts_with('@') || line.size() < 2) {
      if (!line.empty() || !description.empty()) description += (description.empty() ? "" : "\n") + line;
      continue;
    }
    size_t space = line.find_first_of(" \t");
    std::string key = line.substr(1, space == std::string::npos ? std::string::npos : space - 1);
    std::string value = space == std::string::npos ? "" : trim(line.substr(space));
    // A JSON object or list may continue on the next lines until it parses.
    if ((value.starts_with('{') || value.starts_with('[')) &&
        package::Json::parse(value, nullptr, false).is_discarded()) {
      std::string joined = value;
      // At most kMaxJsonLines more: each try parses all of it again, so an
      // unclosed '[' over a long comment took minutes (found by fuzzing).
      for (size_t j = i + 1; j < lines.size() && j <= i + kMaxJsonLines && !lines[j].starts_with('@'); j++) {
        joined += "\n" + lines[j];
        if (!package::Json::parse(joined, nullptr, false).is_discarded()) {
          value = joined;
          i = j;
          break;
        }
      }
    }
    out[key] = parse_value(value);
  }
  while (description.ends_with('\n')) description.pop_back();
  if (!description.empty() && !out.contains("description")) out["description"] = description;
  return out;
}

}  // namespace ecli::compiler
