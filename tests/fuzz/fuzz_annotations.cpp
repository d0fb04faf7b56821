// libFuzzer target: the doc-comment/annotation parser (pure text, no libclang)
// over arbitrary comment text. Bad annotations must end in ecli::Error.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "compiler/annotations.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view raw(reinterpret_cast<const char*>(data), size);
  try {
    // dump() as ecc writes package.json (invalid UTF-8 is the source's own, replaced).
    ecli::compiler::parse_doc_comment(raw).dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } catch (const ecli::Error&) {
  }
  return 0;
}
