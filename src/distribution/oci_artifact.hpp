#pragma once
// ecli packages as OCI artifacts. A package is an OCI image manifest with
//   artifactType  application/vnd.ecli.package.v1+json
//   config        application/vnd.ecli.package.config.v1+json: {name, version, description}
//   one layer     application/vnd.ecli.package.v1+json: package.json's bytes,
//                 annotated org.opencontainers.image.title=package.json
// Its minisign signature is a second artifact tagged sha256-<hex>.minisig
// (hex of the package manifest's digest, as cosign names its signatures, for
// registries without the referrers API) with artifactType
// application/vnd.ecli.minisign.v1, a `subject` pointing to the package
// manifest (registries with the referrers API list it), and the .minisig text
// as its layer. The signature is over the layer's bytes: the same bytes
// `minisign -Vm package.json` checks after `ecli pull`.
#include <optional>
#include <string>

#include "distribution/blob_cache.hpp"
#include "distribution/oci_reference.hpp"
#include "distribution/oci_registry.hpp"
#include "distribution/remote_package.hpp"

namespace ecli::distribution {

inline constexpr const char* kPackageArtifactType = "application/vnd.ecli.package.v1+json";
inline constexpr const char* kPackageConfigType = "application/vnd.ecli.package.config.v1+json";
inline constexpr const char* kPackageLayerType = "application/vnd.ecli.package.v1+json";
inline constexpr const char* kSignatureArtifactType = "application/vnd.ecli.minisign.v1";
inline constexpr const char* kSignatureLayerType = "application/vnd.ecli.minisign.v1";

// The tag the signature of MANIFEST_DIGEST is pushed under.
std::string signature_tag(const std::string& manifest_digest);

// The package manifest for CONFIG and LAYER (exact bytes pushed).
std::string package_manifest(const std::string& config, const std::string& layer);
// The config blob: {name, version, description} from the package metadata.
std::string package_config(const std::string& package_json);

// `ecli push`: uploads PATH (a package.json) and PATH.minisig when it exists;
// returns the manifest digest.
std::string push_package(const std::string& path, const Reference& ref, const RegistryOptions& options);

// `ecli pull`, `ecli run REF`: through the cache, as OPTIONS.pull says.
RemotePackage pull_package(const Reference& ref, const RemoteOptions& options, BlobCache& cache);

// `ecli sign REF`: signs the package layer REF names now and pushes the
// signature; returns the reference of the signature artifact.
std::string sign_reference(const Reference& ref, const std::string& secret_key_path,
                           const std::optional<std::string>& password, const RegistryOptions& options);

// The one package layer of a package manifest as read from a registry;
// ecli::Error naming NAME when it has none, several, or a bad descriptor.
Descriptor package_layer(const nlohmann::json& manifest, const std::string& name);

}  // namespace ecli::distribution
