#pragma once
// Packages that live elsewhere: in an OCI registry (oci_artifact.hpp) or at an
// HTTP(S) URL (url_download.hpp), fetched through the blob cache.
#include <cstdint>
#include <optional>
#include <string>

#include "distribution/oci_registry.hpp"

namespace ecli::distribution {

constexpr size_t kPackageLimit = 64 << 20;    // package.json or .bpf.o
constexpr size_t kSignatureLimit = 64 << 10;  // a .minisig is ~300 bytes

// As podman's --pull: always ask the network; only when missing from the
// cache (the default); never (offline: the cache or an error).
enum class PullPolicy { Always, Missing, Never };
// "always" | "missing" | "never"; Error otherwise.
PullPolicy parse_pull_policy(const std::string& text);

struct RemoteOptions {
  PullPolicy pull = PullPolicy::Missing;
  RegistryOptions registry;     // insecure, credentials (URLs use `insecure` too)
  bool want_signature = false;  // also fetch the signature (keys are required)
  bool verbose = false;         // say what is downloaded
};

struct RemotePackage {
  std::string data;                      // the package's bytes, verified against their digest
  std::optional<std::string> signature;  // its .minisig text, when there is one
  std::string name;                      // for messages: the reference or URL
  std::string signature_name;            // where the signature comes from
  std::string missing_signature;         // why there is none (a sentence fragment)
  std::string digest;                    // the package blob's digest
  std::string manifest_digest;           // registry artifacts only
  uint64_t manifest_size = 0;
};

// A TARGET with an http:// or https:// scheme.
bool is_url(const std::string& target);

}  // namespace ecli::distribution
