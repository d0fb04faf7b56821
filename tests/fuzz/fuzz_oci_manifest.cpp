// libFuzzer target: reading an OCI manifest as a registry serves it (JSON text
// up to the manifest size limit): parsed as RegistryClient::get_manifest does,
// then its package layer (package_layer) and, as for a referrers list, the
// descriptors of its "manifests". Bad manifests must end in ecli::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "distribution/oci_artifact.hpp"
#include "distribution/oci_registry.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object()) return 0;  // get_manifest's one-line error
  namespace d = ecli::distribution;
  try {
    d::package_layer(manifest, "fuzz/manifest:1");
  } catch (const ecli::Error&) {
  }
  if (manifest.contains("manifests") && manifest["manifests"].is_array()) {
    for (const auto& entry : manifest["manifests"]) {
      try {
        d::Descriptor::from_json(entry, "a referrer");
      } catch (const ecli::Error&) {
      }
    }
  }
  return 0;
}
