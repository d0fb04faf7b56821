// libFuzzer target: the metadata model (package::meta_from_json and what reads
// its free-form parts) over arbitrary JSON, fed directly so that its coverage
// is not hidden behind base64 and zlib as in fuzz_package. The input is the
// text of a package's "meta" object (the seeds are the metas of our examples).
// Bad input must end in ecli::Error; another exception, a crash or a
// sanitizer report is a finding. What reads must also write and read back to
// the same JSON (the round trip that keeps other tools' keys).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "btf/object_meta.hpp"
#include "btf/value_type.hpp"
#include "package/package.hpp"
#include "package/sample_spec.hpp"
#include "runtime/options.hpp"
#include "util/error.hpp"

namespace {

namespace p = ecli::package;

// The parts of the model ecli interprets beyond meta_from_json: @sample of
// each map and the doc comment / @cmdarg / role of each global, as the
// option parser sees them for a 4-byte integer global of that name.
void read_free_form_parts(const p::Meta& meta) {
  for (const p::Map& map : meta.maps) {
    if (map.sample.is_null()) continue;
    try {
      p::parse_sample_spec(map.sample);
    } catch (const ecli::Error&) {
    }
  }
  ecli::btf::ValueType type;
  type.kind = ecli::btf::ValueKind::Integer;
  type.size = 4;
  type.is_signed = true;
  type.c_name = "int";
  for (const p::DataSection& section : meta.data_sections)
    for (const p::Variable& v : section.variables) {
      ecli::btf::GlobalVariable var{v.name, section.name, 0, 4, 1};
      if (ecli::runtime::is_result_global(meta, var)) continue;
      ecli::runtime::make_option_spec(meta, var, type, std::string(4, '\0'));
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  p::Json json = p::Json::parse(std::string_view(reinterpret_cast<const char*>(data), size), nullptr,
                                /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;  // not JSON: the package reader's concern (fuzz_package)
  p::Meta meta;
  try {
    meta = p::meta_from_json(json);
  } catch (const ecli::Error&) {
    return 0;
  }
  read_free_form_parts(meta);
  p::Json written = p::meta_to_json(meta);
  p::Json rewritten;
  try {
    rewritten = p::meta_to_json(p::meta_from_json(written));
  } catch (const ecli::Error&) {
    __builtin_trap();  // we wrote a meta we cannot read back
  }
  if (written != rewritten) __builtin_trap();  // the round trip lost or changed something
  return 0;
}
