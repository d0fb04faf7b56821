// libFuzzer target: the package reader (JSON, base64, zlib, size checks and
// the metadata model) over arbitrary package.json text. Bad input must end in
// ecli::Error; anything else (a crash, a sanitizer report, another exception)
// is a finding. A package that reads must also write and read back.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "package/package.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    ecli::package::Package package = ecli::package::parse_package(text);
    ecli::package::parse_package(ecli::package::write_package(package));
  } catch (const ecli::Error&) {
  }
  return 0;
}
