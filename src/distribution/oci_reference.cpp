#include "distribution/oci_reference.hpp"

#include <cctype>
#include <regex>

#include "distribution/blob_cache.hpp"
#include "util/error.hpp"

namespace ecli::distribution {
namespace {

// The grammar of github.com/distribution/reference.
const std::regex& component_pattern() {
  static const std::regex re("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  return re;
}
const std::regex& tag_pattern() {
  static const std::regex re("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  return re;
}
const std::regex& host_pattern() {
  static const std::regex re(
      "(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\\[[0-9A-Fa-f:.]+\\])"
      "(?::[0-9]{1,5})?");
  return re;
}

}  // namespace

std::string Reference::str() const {
  std::string out = name();
  if (!tag.empty() && (digest.empty() || tag != "latest")) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

bool looks_like_reference(std::string_view text) {
  if (text.find("://") != std::string_view::npos) return false;
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= text.size()) return false;
  std::string_view host = text.substr(0, slash);
  if (!std::isalnum(static_cast<unsigned char>(host[0])) && host[0] != '[') return false;  // "./x", "../x"
  return host.find('.') != std::string_view::npos || host.find(':') != std::string_view::npos || host == "localhost";
}

Reference parse_reference(std::string_view text) {
  std::string whole(text);
  auto bad = [&](const std::string& why) { return Error("bad registry reference \"" + whole + "\": " + why); };
  if (text.find("://") != std::string_view::npos)
    throw bad("no URL scheme in references (HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST])");
  if (!looks_like_reference(text))
    throw bad("it must start with the registry host (localhost:5000/tools/opensnoop:1, ghcr.io/org/tool:1)");
  Reference ref;
  size_t slash = text.find('/');
  ref.registry = std::string(text.substr(0, slash));
  if (!std::regex_match(ref.registry, host_pattern())) throw bad("\"" + ref.registry + "\" is not a host[:port]");
  std::string rest(text.substr(slash + 1));
  if (size_t at = rest.find('@'); at != std::string::npos) {
    ref.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!is_sha256_digest(ref.digest)) throw bad("the digest must be sha256: and 64 lowercase hex digits");
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string::npos && (last_slash == std::string::npos || colon > last_slash)) {
    ref.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!std::regex_match(ref.tag, tag_pattern()))
      throw bad("\"" + ref.tag + "\" is not a tag (letters, digits, '_', '.', '-'; at most 128)");
  }
  if (rest.empty()) throw bad("no repository after the host");
  if (rest.size() > 255) throw bad("the repository name is longer than 255 characters");
  size_t start = 0;
  while (true) {
    size_t end = rest.find('/', start);
    std::string component = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!std::regex_match(component, component_pattern()))
      throw bad("\"" + component + "\" is not a repository name component (lowercase letters, digits, '.', '_', '-')");
    if (end == std::string::npos) break;
    start = end + 1;
  }
  ref.repository = rest;
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

}  // namespace ecli::distribution
