#pragma once
// Registry credentials and the WWW-Authenticate challenge of the
// distribution API (Basic, or a Bearer token from the realm it names).
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ecli::distribution {

struct Credentials {
  std::string username, password;
};

// Credentials for REGISTRY ("host:port") from the files podman and docker
// write, first match wins: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.docker/config.json ("auths": {"host": {"auth": base64("user:pass")}}).
std::optional<Credentials> stored_credentials(const std::string& registry);

// One challenge: SCHEME ("basic", "bearer"; lower-cased) and its parameters
// (realm, service, scope). nullopt when the header is not understood.
struct Challenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::optional<Challenge> parse_challenge(std::string_view header);

std::string base64_encode(std::string_view data);
// nullopt when TEXT is not standard base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ecli::distribution
