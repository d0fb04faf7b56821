#include "distribution/oci_artifact.hpp"

#include <ctime>
#include <filesystem>
#include <iostream>

#include "distribution/minisign.hpp"
#include "package/package.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::distribution {
namespace fs = std::filesystem;
namespace {

constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
// The OCI 1.1 empty descriptor: the config of artifacts that need none.
constexpr const char* kEmptyType = "application/vnd.oci.empty.v1+json";
constexpr const char* kEmptyJson = "{}";
constexpr const char* kTitle = "org.opencontainers.image.title";

std::string string_field(const nlohmann::json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

Descriptor package_layer(const nlohmann::json& manifest, const std::string& name) {
  std::string artifact_type = string_field(manifest, "artifactType");
  std::string config_type = manifest.contains("config") ? string_field(manifest["config"], "mediaType") : "";
  if (!manifest.contains("layers") || !manifest["layers"].is_array())
    throw Error(name + ": the manifest has no layers");
  std::optional<Descriptor> found;
  for (const auto& layer : manifest["layers"]) {
    Descriptor d = Descriptor::from_json(layer, "a layer of " + name);
    if (d.media_type != kPackageLayerType) continue;
    if (found) throw Error(name + " has more than one package layer");
    found = d;
  }
  if (!found)
    throw Error(name + " is not an ecli package (artifactType " +
                (artifact_type.empty() ? "none" : artifact_type) + ", config " +
                (config_type.empty() ? "untyped" : config_type) + ")");
  return *found;
}

namespace {

std::string describe_missing_tag(const Reference& ref) {
  if (!ref.digest.empty()) return "no manifest " + ref.digest + " in " + ref.name();
  return "no tag '" + ref.tag + "' in " + ref.name();
}

std::string signature_manifest(const std::string& signature_digest, uint64_t signature_size,
                               const std::string& subject_digest, uint64_t subject_size) {
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"artifactType", kSignatureArtifactType},
      {"config", Descriptor{kEmptyType, sha256_digest(kEmptyJson), 2, nullptr}.to_json()},
      {"layers", nlohmann::json::array({Descriptor{kSignatureLayerType, signature_digest, signature_size,
                                                   {{kTitle, "package.json.minisig"}}}
                                            .to_json()})},
      {"subject", Descriptor{kOciManifest, subject_digest, subject_size, nullptr}.to_json()},
  };
  return manifest.dump();
}

void push_signature(RegistryClient& client, const Reference& ref, const std::string& manifest_digest,
                    uint64_t manifest_size, const std::string& signature_text) {
  parse_signature(signature_text, "the signature of " + ref.str());  // refuse pushing garbage
  client.push_blob(ref.repository, kEmptyJson);
  std::string digest = client.push_blob(ref.repository, signature_text);
  std::string manifest = signature_manifest(digest, signature_text.size(), manifest_digest, manifest_size);
  client.put_manifest(ref.repository, signature_tag(manifest_digest), manifest, kOciManifest);
}

// The signature artifact of MANIFEST_DIGEST, downloaded into the cache; nullopt when there is none.
std::optional<std::string> fetch_signature(RegistryClient& client, const Reference& ref,
                                           const std::string& manifest_digest, BlobCache& cache) {
  std::string tag = signature_tag(manifest_digest);
  std::string name = ref.name() + ":" + tag;  // or the referrer's digest
  std::optional<Manifest> manifest = client.get_manifest(ref.repository, tag);
  if (!manifest) {
    // Registries with the referrers API also list signatures attached by other tools (oras attach).
    std::optional<std::string> referrer = client.find_referrer(ref.repository, manifest_digest, kSignatureArtifactType);
    if (referrer) {
      name = ref.name() + "@" + *referrer;
      manifest = client.get_manifest(ref.repository, *referrer);
    }
    if (!manifest) return std::nullopt;
  }
  const nlohmann::json& j = manifest->json;
  if (string_field(j, "artifactType") != kSignatureArtifactType)
    throw Error(name + " is not an ecli signature (artifactType " + string_field(j, "artifactType") + ")");
  if (!j.contains("subject") || string_field(j["subject"], "digest") != manifest_digest)
    throw Error(name + " is not the signature of " + ref.name() + "@" + manifest_digest + " (its subject differs)");
  if (!j.contains("layers") || !j["layers"].is_array() || j["layers"].size() != 1)
    throw Error(name + ": a signature artifact has exactly one layer");
  Descriptor layer = Descriptor::from_json(j["layers"][0], "the layer of " + name);
  if (layer.media_type != kSignatureLayerType)
    throw Error(name + ": its layer is " + layer.media_type + ", not " + kSignatureLayerType);
  if (!cache.has(layer.digest)) client.fetch_blob(ref.repository, layer, cache, kSignatureLimit, "signature");
  cache.put(manifest->bytes);
  cache.set_ref("oci-signature:" + ref.name() + "@" + manifest_digest, layer.digest);
  return cache.read(layer.digest);
}

}  // namespace

std::string signature_tag(const std::string& manifest_digest) {
  return "sha256-" + manifest_digest.substr(7) + ".minisig";
}

std::string package_config(const std::string& package_json) {
  package::Package package;
  try {
    package = package::parse_package(package_json);
  } catch (const Error& e) {
    throw Error(std::string("not a package: ") + e.what());
  }
  std::string name = package.meta.obj_name;
  if (name.ends_with("_bpf")) name.resize(name.size() - 4);
  nlohmann::json config = {{"name", name}, {"version", ""}, {"description", ""}};
  if (package.meta.doc) {
    config["version"] = package.meta.doc->version;
    config["description"] = !package.meta.doc->brief.empty() ? package.meta.doc->brief : package.meta.doc->description;
  }
  return config.dump();
}

std::string package_manifest(const std::string& config, const std::string& layer) {
  nlohmann::json manifest = {
      {"schemaVersion", 2},
      {"mediaType", kOciManifest},
      {"artifactType", kPackageArtifactType},
      {"config", Descriptor{kPackageConfigType, sha256_digest(config), config.size(), nullptr}.to_json()},
      {"layers", nlohmann::json::array({Descriptor{kPackageLayerType, sha256_digest(layer), layer.size(),
                                                   {{kTitle, "package.json"}}}
                                            .to_json()})},
  };
  return manifest.dump();
}

std::string push_package(const std::string& path, const Reference& ref, const RegistryOptions& options) {
  if (!ref.digest.empty()) throw Error("push needs a tag, not a digest: " + ref.str());
  std::string layer = read_file(path);
  std::string config;
  try {
    config = package_config(layer);
  } catch (const Error& e) {
    throw Error(path + " is " + e.what() + " (ecli push takes a package.json from ecc)");
  }
  std::optional<std::string> signature;
  std::error_code ec;
  if (fs::exists(path + ".minisig", ec)) signature = read_file(path + ".minisig");
  if (signature) parse_signature(*signature, path + ".minisig");  // before anything is uploaded

  RegistryClient client(ref.registry, options);
  client.push_blob(ref.repository, config);
  client.push_blob(ref.repository, layer);
  std::string manifest = package_manifest(config, layer);
  std::string digest = client.put_manifest(ref.repository, ref.tag, manifest, kOciManifest);
  if (signature) push_signature(client, ref, digest, manifest.size(), *signature);
  return digest;
}

RemotePackage pull_package(const Reference& ref, const RemoteOptions& options, BlobCache& cache) {
  std::string ref_key = "oci:" + ref.str();
  auto signature_key = [&](const std::string& manifest_digest) {
    return "oci-signature:" + ref.name() + "@" + manifest_digest;
  };
  RemotePackage out;
  out.name = ref.str();

  // What the cache holds for REF: every blob there was verified when stored.
  auto from_cache = [&]() -> bool {
    std::optional<std::string> manifest_digest = ref.digest.empty() ? cache.ref(ref_key) : ref.digest;
    if (!manifest_digest || !cache.has(*manifest_digest)) return false;
    std::string bytes = cache.read(*manifest_digest);
    nlohmann::json manifest = nlohmann::json::parse(bytes, nullptr, false);
    if (manifest.is_discarded()) return false;
    Descriptor layer = package_layer(manifest, ref.str());
    if (!cache.has(layer.digest)) return false;
    out.data = cache.read(layer.digest);
    out.digest = layer.digest;
    out.manifest_digest = *manifest_digest;
    out.manifest_size = bytes.size();
    out.signature_name = ref.name() + ":" + signature_tag(*manifest_digest);
    if (auto sig = cache.ref(signature_key(*manifest_digest)); sig && cache.has(*sig)) out.signature = cache.read(*sig);
    return true;
  };

  if (options.pull != PullPolicy::Always && from_cache()) {
    if (out.signature || !options.want_signature) return out;
    if (options.pull == PullPolicy::Never) {
      out.missing_signature = "the cache holds no signature for " + ref.str() + " (and --pull never)";
      return out;
    }
  } else if (options.pull == PullPolicy::Never) {
    throw Error(ref.str() + " is not in the cache (--pull never): pull it once with `ecli pull " + ref.str() + "`");
  }

  RegistryClient client(ref.registry, options.registry);
  if (out.data.empty()) {
    std::optional<Manifest> manifest = client.get_manifest(ref.repository, ref.manifest_reference());
    if (!manifest) throw Error(describe_missing_tag(ref));
    Descriptor layer = package_layer(manifest->json, ref.str());
    if (!cache.has(layer.digest)) {  // fetch_blob refuses a layer over the limit by its descriptor's size
      if (options.verbose) std::cerr << "ecli: pulling " << ref.str() << " (" << layer.digest << ")\n";
      client.fetch_blob(ref.repository, layer, cache, kPackageLimit, "package");
    }
    cache.put(manifest->bytes, manifest->digest, "the manifest of " + ref.str());
    if (ref.digest.empty()) cache.set_ref(ref_key, manifest->digest);
    out.data = cache.read(layer.digest);
    out.digest = layer.digest;
    out.manifest_digest = manifest->digest;
    out.manifest_size = manifest->bytes.size();
    out.signature_name = ref.name() + ":" + signature_tag(manifest->digest);
  }
  if (options.want_signature) {
    out.signature = fetch_signature(client, ref, out.manifest_digest, cache);
    if (!out.signature) out.missing_signature = ref.str() + " has no signature (no tag " + signature_tag(out.manifest_digest) + ")";
  }
  return out;
}

std::string sign_reference(const Reference& ref, const std::string& secret_key_path,
                           const std::optional<std::string>& password, const RegistryOptions& options) {
  SecretKey key = parse_secret_key(read_file(secret_key_path), password, secret_key_path);
  BlobCache cache;
  RemotePackage package = pull_package(ref, {.pull = PullPolicy::Always, .registry = options}, cache);
  std::string text = sign(package.data, key, "package.json", static_cast<int64_t>(std::time(nullptr)));
  key.key.fill(0);
  RegistryClient client(ref.registry, options);
  push_signature(client, ref, package.manifest_digest, package.manifest_size, text);
  return ref.name() + ":" + signature_tag(package.manifest_digest);
}

}  // namespace ecli::distribution
