#pragma once
// A client of the OCI distribution API (/v2/) for one registry: manifests by
// tag or digest, blobs into the cache, monolithic uploads. Authentication
// follows the registry's 401 challenge: Basic with the credentials, or a
// Bearer token fetched from the realm it names (with the credentials, or
// anonymously). Plain HTTP only with `insecure` and only on loopback.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "distribution/blob_cache.hpp"
#include "distribution/http_client.hpp"
#include "distribution/registry_auth.hpp"

namespace ecli::distribution {

struct RegistryOptions {
  bool insecure = false;  // plain HTTP (loopback registries only)
  std::optional<Credentials> credentials;  // nullopt: stored_credentials(), else anonymous
};

constexpr size_t kManifestLimit = 4 << 20;  // the size limit of manifests (as containerd's)

struct Descriptor {
  std::string media_type, digest;
  uint64_t size = 0;
  nlohmann::json annotations;  // object or null
  nlohmann::json to_json() const;
  // Throws Error naming WHERE when JSON is not a descriptor with a sha256 digest.
  static Descriptor from_json(const nlohmann::json& json, const std::string& where);
};

struct Manifest {
  std::string bytes;   // exactly as served: its digest is over these bytes
  std::string digest;  // sha256 of bytes
  nlohmann::json json;
};

class RegistryClient {
 public:
  RegistryClient(std::string registry, RegistryOptions options);

  // nullopt when the registry has no such tag or digest (404). Refuses
  // answers over kManifestLimit, non-JSON (HTML) answers, other media types
  // than an OCI image manifest, and a digest other than the one asked for.
  std::optional<Manifest> get_manifest(const std::string& repository, const std::string& reference);
  // Downloads the blob into CACHE (checked against digest and size); returns its path.
  std::filesystem::path fetch_blob(const std::string& repository, const Descriptor& blob, BlobCache& cache,
                                   size_t limit, const std::string& what);
  bool has_blob(const std::string& repository, const std::string& digest);
  // The OCI 1.1 referrers API: the digest of a manifest of ARTIFACT_TYPE whose
  // subject is SUBJECT; nullopt when there is none or the registry lacks the API.
  std::optional<std::string> find_referrer(const std::string& repository, const std::string& subject,
                                           const std::string& artifact_type);
  // Uploads DATA unless the registry has it already; returns its digest.
  std::string push_blob(const std::string& repository, std::string_view data);
  // Returns the manifest's digest.
  std::string put_manifest(const std::string& repository, const std::string& reference, const std::string& bytes,
                           const std::string& media_type);

  const std::string& registry() const { return registry_; }

 private:
  HttpResponse send(HttpRequest request, const std::string& repository, const BodySink& sink = nullptr);
  void authenticate(const HttpResponse& challenge_response, const std::string& repository, bool retried);
  std::string url(const std::string& path) const;
  [[noreturn]] void fail(const std::string& method, const HttpResponse& response) const;

  std::string registry_, scheme_;
  RegistryOptions options_;
  std::optional<Credentials> credentials_;
  std::string authorization_;  // "Authorization: ..." once a challenge was answered
};

// The registry's {"errors":[{"code","message"}]} as "CODE: message", or "".
std::string registry_error(const std::string& body);

}  // namespace ecli::distribution
