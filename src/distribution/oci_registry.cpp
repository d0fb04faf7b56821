#include "distribution/oci_registry.hpp"

#include "util/error.hpp"

namespace ecli::distribution {
namespace {

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
constexpr size_t kTokenLimit = 1 << 20;

std::string percent_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

bool is_success(long status) { return status >= 200 && status < 300; }

}  // namespace

nlohmann::json Descriptor::to_json() const {
  nlohmann::json j = {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
  if (annotations.is_object() && !annotations.empty()) j["annotations"] = annotations;
  return j;
}

Descriptor Descriptor::from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object() || !json.contains("digest") || !json["digest"].is_string() || !json.contains("size") ||
      !json["size"].is_number_unsigned())
    throw Error(where + " is not a descriptor (mediaType, digest, size)");
  Descriptor d;
  d.digest = json["digest"].get<std::string>();
  d.size = json["size"].get<uint64_t>();
  if (json.contains("mediaType") && json["mediaType"].is_string()) d.media_type = json["mediaType"].get<std::string>();
  if (json.contains("annotations")) d.annotations = json["annotations"];
  if (!is_sha256_digest(d.digest)) throw Error(where + " has an unsupported digest \"" + d.digest + "\" (only sha256)");
  return d;
}

std::string registry_error(const std::string& body) {
  nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
      doc["errors"].empty() || !doc["errors"][0].is_object())
    return "";
  const auto& e = doc["errors"][0];
  std::string code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
  std::string message = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
  if (code.empty()) return message;
  return message.empty() ? code : code + ": " + message;
}

RegistryClient::RegistryClient(std::string registry, RegistryOptions options)
    : registry_(std::move(registry)), options_(std::move(options)) {
  if (options_.insecure && !is_loopback_host(registry_))
    throw Error("--insecure (plain HTTP) is allowed only for registries on loopback (localhost, 127.0.0.0/8, [::1]); " +
                registry_ + " must be reached over https");
  scheme_ = options_.insecure ? "http://" : "https://";
  credentials_ = options_.credentials ? options_.credentials : stored_credentials(registry_);
}

std::string RegistryClient::url(const std::string& path) const { return scheme_ + registry_ + path; }

void RegistryClient::fail(const std::string& method, const HttpResponse& response) const {
  std::string detail = registry_error(response.body);
  throw Error(response.status_line(method) + (detail.empty() ? "" : " (" + detail + ")"));
}

HttpResponse RegistryClient::send(HttpRequest request, const std::string& repository, const BodySink& sink) {
  for (bool retried = false;; retried = true) {
    HttpRequest attempt = request;
    if (!authorization_.empty()) attempt.headers.push_back(authorization_);
    HttpResponse response;
    try {
      response = http_request(attempt, sink);
    } catch (const Error& e) {
      std::string text = e.what();
      if (!options_.insecure && is_loopback_host(registry_) && text.find("TLS") != std::string::npos)
        throw Error(text + " (a plain-HTTP registry on loopback needs --insecure)");
      throw;
    }
    if (response.status != 401) return response;
    authenticate(response, repository, retried);
    // A changed request (the upload's location) was already sent: only GET/HEAD/manifest PUT are repeated.
  }
}

void RegistryClient::authenticate(const HttpResponse& response, const std::string& repository, bool retried) {
  auto login_hint = [&] {
    return registry_ + " needs a login: give --username USER --password-stdin, or store credentials with "
                       "`podman login` / `docker login`";
  };
  if (retried || (!authorization_.empty() && authorization_.starts_with("Authorization: Basic"))) {
    if (credentials_) throw Error(registry_ + " refused the login of user \"" + credentials_->username + "\" (401 Unauthorized)");
    throw Error(login_hint());
  }
  std::optional<Challenge> challenge = parse_challenge(response.header("www-authenticate"));
  if (!challenge) {
    if (credentials_) {
      authorization_ = "Authorization: Basic " + base64_encode(credentials_->username + ":" + credentials_->password);
      return;
    }
    throw Error(login_hint());
  }
  if (challenge->scheme == "basic") {
    if (!credentials_) throw Error(login_hint());
    authorization_ = "Authorization: Basic " + base64_encode(credentials_->username + ":" + credentials_->password);
    return;
  }
  if (challenge->scheme != "bearer")
    throw Error(registry_ + " asks for \"" + challenge->scheme + "\" authentication, which ecli does not speak (Basic, Bearer)");
  std::string realm = challenge->params["realm"];
  if (realm.empty()) throw Error(registry_ + "'s Bearer challenge names no realm to get a token from");
  if (!realm.starts_with("https://") && !(realm.starts_with("http://") && is_loopback_host(realm)))
    throw Error(registry_ + "'s token realm " + realm + " is not https");
  std::string scope = challenge->params.count("scope") ? challenge->params["scope"]
                                                       : "repository:" + repository + ":pull";
  std::string token_url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (challenge->params.count("service")) token_url += "service=" + percent_encode(challenge->params["service"]) + "&";
  token_url += "scope=" + percent_encode(scope);
  HttpRequest token_request{.url = token_url, .max_body = kTokenLimit, .what = "token answer"};
  if (credentials_)
    token_request.headers.push_back("Authorization: Basic " +
                                    base64_encode(credentials_->username + ":" + credentials_->password));
  HttpResponse token_response = http_request(token_request);
  if (token_response.status == 401 || token_response.status == 403) {
    if (credentials_)
      throw Error(registry_ + " refused the login of user \"" + credentials_->username + "\" (token service " +
                  url_authority(realm) + " answered " + std::to_string(token_response.status) + ")");
    throw Error(login_hint());
  }
  if (!is_success(token_response.status)) throw Error(token_response.status_line("GET"));
  nlohmann::json doc = nlohmann::json::parse(token_response.body, nullptr, false);
  std::string token;
  if (doc.is_object()) {
    if (doc.contains("token") && doc["token"].is_string()) token = doc["token"].get<std::string>();
    else if (doc.contains("access_token") && doc["access_token"].is_string()) token = doc["access_token"].get<std::string>();
  }
  if (token.empty()) throw Error("the token service " + url_authority(realm) + " answered no token");
  authorization_ = "Authorization: Bearer " + token;
}

std::optional<Manifest> RegistryClient::get_manifest(const std::string& repository, const std::string& reference) {
  HttpRequest request{.url = url("/v2/" + repository + "/manifests/" + reference),
                      // Other kinds too, so that an image or index is named as such rather than "no tag".
                      .headers = {std::string("Accept: ") + kOciManifest + ", " + kOciIndex +
                                  ", application/vnd.docker.distribution.manifest.v2+json"
                                  ", application/vnd.docker.distribution.manifest.list.v2+json"},
                      .max_body = kManifestLimit,
                      .what = "manifest"};
  HttpResponse response = send(request, repository);
  std::string name = registry_ + "/" + repository + (reference.starts_with("sha256:") ? "@" : ":") + reference;
  if (response.status == 404) return std::nullopt;
  if (!is_success(response.status)) fail("GET", response);
  Manifest manifest;
  manifest.bytes = std::move(response.body);
  manifest.json = nlohmann::json::parse(manifest.bytes, nullptr, false);
  if (manifest.json.is_discarded() || !manifest.json.is_object()) {
    std::string type = response.header("content-type");
    throw Error("the registry's answer for " + name + " is not a manifest" +
                (type.empty() ? std::string(" (not JSON)") : " (" + type + ", not JSON)"));
  }
  std::string media_type = manifest.json.contains("mediaType") && manifest.json["mediaType"].is_string()
                               ? manifest.json["mediaType"].get<std::string>()
                               : response.header("content-type");
  if (media_type == kOciIndex)
    throw Error(name + " is an image index, not an ecli package (push it with `ecli push`)");
  if (media_type != kOciManifest)
    throw Error(name + " is not an ecli package: its manifest is " + (media_type.empty() ? "untyped" : media_type) +
                ", not " + kOciManifest);
  manifest.digest = sha256_digest(manifest.bytes);
  if (reference.starts_with("sha256:") && manifest.digest != reference)
    throw Error("digest mismatch: the manifest served for " + name + " has " + manifest.digest);
  std::string served = response.header("docker-content-digest");
  if (!served.empty() && served.starts_with("sha256:") && served != manifest.digest)
    throw Error("digest mismatch: the manifest of " + name + " has " + manifest.digest + ", the registry says " + served);
  return manifest;
}

std::filesystem::path RegistryClient::fetch_blob(const std::string& repository, const Descriptor& blob,
                                                 BlobCache& cache, size_t limit, const std::string& what) {
  std::string name = registry_ + "/" + repository + "@" + blob.digest;
  if (blob.size > limit)
    throw Error("the " + what + " of " + registry_ + "/" + repository + " (" + std::to_string(blob.size) +
                " bytes) is larger than the limit of " + size_text(limit));
  BlobCache::Writer writer(cache, blob.digest, blob.size, "the " + what + " " + name);
  HttpRequest request{.url = url("/v2/" + repository + "/blobs/" + blob.digest), .max_body = limit, .what = what};
  HttpResponse response = send(request, repository, [&](std::string_view data) { writer.write(data); });
  if (!is_success(response.status)) fail("GET", response);
  return writer.commit();
}

bool RegistryClient::has_blob(const std::string& repository, const std::string& digest) {
  HttpResponse response = send({.method = "HEAD", .url = url("/v2/" + repository + "/blobs/" + digest)}, repository);
  if (response.status == 404) return false;
  if (!is_success(response.status)) fail("HEAD", response);
  return true;
}

std::optional<std::string> RegistryClient::find_referrer(const std::string& repository, const std::string& subject,
                                                         const std::string& artifact_type) {
  HttpRequest request{.url = url("/v2/" + repository + "/referrers/" + subject + "?artifactType=" +
                                 percent_encode(artifact_type)),
                      .headers = {std::string("Accept: ") + kOciIndex},
                      .max_body = kManifestLimit,
                      .what = "referrers list"};
  HttpResponse response = send(request, repository);
  if (!is_success(response.status)) return std::nullopt;  // 404: no referrers API (docker-registry 2.8)
  nlohmann::json index = nlohmann::json::parse(response.body, nullptr, false);
  if (index.is_discarded() || !index.is_object() || !index.contains("manifests") || !index["manifests"].is_array())
    throw Error("the referrers list of " + registry_ + "/" + repository + "@" + subject + " is not an image index");
  for (const auto& entry : index["manifests"]) {
    if (!entry.is_object() || !entry.contains("artifactType") || entry["artifactType"] != artifact_type) continue;
    return Descriptor::from_json(entry, "a referrer of " + registry_ + "/" + repository + "@" + subject).digest;
  }
  return std::nullopt;
}

std::string RegistryClient::push_blob(const std::string& repository, std::string_view data) {
  std::string digest = sha256_digest(data);
  if (has_blob(repository, digest)) return digest;
  HttpResponse started = send({.method = "POST", .url = url("/v2/" + repository + "/blobs/uploads/")}, repository);
  if (started.status != 202) fail("POST", started);
  std::string location = started.header("location");
  if (location.empty()) throw Error(started.status_line("POST") + " without a Location for the upload");
  if (location.starts_with("/")) location = scheme_ + registry_ + location;
  if (!location.starts_with(scheme_ + registry_ + "/"))
    throw Error(registry_ + " sent the upload to another host (" + url_authority(location) + ")");
  location += (location.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + percent_encode(digest);
  HttpResponse done = send({.method = "PUT",
                            .url = location,
                            .headers = {"Content-Type: application/octet-stream"},
                            .body = std::string(data)},
                           repository);
  if (done.status != 201) fail("PUT", done);
  return digest;
}

std::string RegistryClient::put_manifest(const std::string& repository, const std::string& reference,
                                         const std::string& bytes, const std::string& media_type) {
  HttpResponse response = send({.method = "PUT",
                                .url = url("/v2/" + repository + "/manifests/" + reference),
                                .headers = {"Content-Type: " + media_type},
                                .body = bytes},
                               repository);
  if (response.status != 201) fail("PUT", response);
  return sha256_digest(bytes);
}

}  // namespace ecli::distribution
