// libFuzzer target: the minisign readers over arbitrary text. The first byte
// chooses the reader: a .minisig signature, a public key (.pub file or bare
// base64), or a secret key, unencrypted or with a fixed password (scrypt
// parameters come from the input, so huge ones must be refused, not run).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "distribution/minisign.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  namespace d = ecli::distribution;
  try {
    switch (data[0] % 4) {
      case 0: d::parse_signature(text, "fuzz.minisig"); break;
      case 1: d::parse_public_key(text, "fuzz.pub"); break;
      case 2: d::parse_secret_key(text, std::nullopt, "fuzz.key"); break;
      default: d::parse_secret_key(text, std::string("fuzz"), "fuzz.key"); break;
    }
  } catch (const ecli::Error&) {
  }
  return 0;
}
