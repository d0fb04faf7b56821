#include "distribution/registry_auth.hpp"

#include <sodium.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::distribution {
namespace fs = std::filesystem;
namespace {

// "https://host:port/v1/" and "host:port" both name host:port.
std::string registry_of_key(std::string key) {
  if (size_t scheme = key.find("://"); scheme != std::string::npos) key = key.substr(scheme + 3);
  if (size_t slash = key.find('/'); slash != std::string::npos) key.resize(slash);
  return key;
}

std::optional<Credentials> from_auth_file(const fs::path& path, const std::string& registry) {
  std::error_code ec;
  if (path.empty() || !fs::is_regular_file(path, ec)) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(read_file(path), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) throw Error(path.string() + " is not valid JSON");
  auto auths = doc.find("auths");
  if (auths == doc.end() || !auths->is_object()) return std::nullopt;
  for (const auto& [key, entry] : auths->items()) {
    if (registry_of_key(key) != registry || !entry.is_object()) continue;
    if (entry.contains("auth") && entry["auth"].is_string()) {
      std::optional<std::string> decoded = base64_decode(entry["auth"].get<std::string>());
      size_t colon = decoded ? decoded->find(':') : std::string::npos;
      if (colon == std::string::npos)
        throw Error(path.string() + ": the \"auth\" of " + key + " is not base64 of user:password");
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    if (entry.contains("username") && entry.contains("password") && entry["username"].is_string() &&
        entry["password"].is_string())
      return Credentials{entry["username"].get<std::string>(), entry["password"].get<std::string>()};
  }
  return std::nullopt;
}

}  // namespace

std::optional<Credentials> stored_credentials(const std::string& registry) {
  std::vector<fs::path> files;
  if (const char* file = std::getenv("REGISTRY_AUTH_FILE"); file && *file) files.emplace_back(file);
  if (const char* run = std::getenv("XDG_RUNTIME_DIR"); run && *run)
    files.push_back(fs::path(run) / "containers" / "auth.json");
  if (const char* config = std::getenv("DOCKER_CONFIG"); config && *config)
    files.push_back(fs::path(config) / "config.json");
  else if (const char* home = std::getenv("HOME"); home && *home)
    files.push_back(fs::path(home) / ".docker" / "config.json");
  for (const auto& file : files)
    if (auto found = from_auth_file(file, registry)) return found;
  return std::nullopt;
}

std::optional<Challenge> parse_challenge(std::string_view header) {
  size_t i = 0;
  while (i < header.size() && std::isspace(static_cast<unsigned char>(header[i]))) ++i;
  size_t scheme_end = i;
  while (scheme_end < header.size() && !std::isspace(static_cast<unsigned char>(header[scheme_end]))) ++scheme_end;
  if (scheme_end == i) return std::nullopt;
  Challenge challenge;
  for (size_t k = i; k < scheme_end; ++k)
    challenge.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(header[k])));
  i = scheme_end;
  // key=value or key="quoted \"value\"", separated by commas.
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ',' || std::isspace(static_cast<unsigned char>(header[i])))) ++i;
    size_t eq = header.find('=', i);
    if (eq == std::string_view::npos) break;
    std::string key;
    for (size_t k = i; k < eq; ++k)
      if (!std::isspace(static_cast<unsigned char>(header[k])))
        key += static_cast<char>(std::tolower(static_cast<unsigned char>(header[k])));
    i = eq + 1;
    std::string value;
    if (i < header.size() && header[i] == '"') {
      ++i;
      while (i < header.size() && header[i] != '"') {
        if (header[i] == '\\' && i + 1 < header.size()) ++i;
        value += header[i++];
      }
      ++i;
    } else {
      while (i < header.size() && header[i] != ',') value += header[i++];
      while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
    }
    challenge.params[key] = value;
  }
  return challenge;
}

std::string base64_encode(std::string_view data) {
  if (sodium_init() < 0) throw Error("cannot initialise libsodium");
  std::string out(sodium_base64_encoded_len(data.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (sodium_init() < 0) throw Error("cannot initialise libsodium");
  std::string out(text.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), " \n\r",
                        &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0)
    return std::nullopt;
  out.resize(len);
  return out;
}

}  // namespace ecli::distribution
