// libFuzzer target: the minisign readers over arbitrary text. The first byte
// chooses what is read:
//   0  a .minisig signature
//   1  a public key (.pub file or bare base64)
//   2  a secret key without a password (unencrypted, or the "give its
//      password" error)
//   3  a secret key with the password "fuzz"
//   4  signature NUL public key NUL data: the whole check `ecli run` does on
//      a signed package (parse both, then verify)
// What reads must also write and read back to the same key. Bad input must
// end in ecli::Error; anything else is a finding.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "distribution/minisign.hpp"
#include "util/error.hpp"

namespace {

namespace d = ecli::distribution;

// scrypt over a key at minisign's own limits takes seconds and 1 GiB, which
// is legitimate (the reader caps above that) but would make this target crawl:
// such keys are skipped here. Keys above the cap still run, to test the cap.
bool scrypt_too_slow_for_fuzzing(std::string_view text) {
  size_t start = text.find('\n');
  if (start == std::string_view::npos) return false;
  std::string_view line = text.substr(start + 1);
  line = line.substr(0, line.find('\n'));
  uint8_t raw[200];
  size_t len = 0;
  if (sodium_base642bin(raw, sizeof raw, line.data(), line.size(), " \t\r", &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < 54)
    return false;
  uint64_t opslimit = 0, memlimit = 0;
  for (int i = 7; i >= 0; --i) {
    opslimit = (opslimit << 8) | raw[38 + i];
    memlimit = (memlimit << 8) | raw[46 + i];
  }
  bool within_cap = opslimit <= crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE &&
                    memlimit <= crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;
  return within_cap && (opslimit > (1u << 20) || memlimit > (1u << 24));
}

void check_round_trips(const d::PublicKey& key) {
  d::PublicKey back = d::parse_public_key(d::encode_public_key(key), "written.pub");
  if (back.id != key.id || back.key != key.key) __builtin_trap();
}

void check_round_trips(const d::SecretKey& key) {
  d::SecretKey back = d::parse_secret_key(d::encode_secret_key(key, std::nullopt), std::nullopt, "written.key");
  if (back.id != key.id || back.key != key.key) __builtin_trap();
}

void read(uint8_t mode, std::string_view text) {
  switch (mode) {
    case 0: {
      d::Signature sig = d::parse_signature(text, "fuzz.minisig");
      if (sig.trusted_comment.size() > 1024) __builtin_trap();  // minisign's limit, checked by the reader
      break;
    }
    case 1:
      check_round_trips(d::parse_public_key(text, "fuzz.pub"));
      break;
    case 2:
      check_round_trips(d::parse_secret_key(text, std::nullopt, "fuzz.key"));
      break;
    case 3:
      if (scrypt_too_slow_for_fuzzing(text)) return;
      check_round_trips(d::parse_secret_key(text, std::string("fuzz"), "fuzz.key"));
      break;
    default: {
      size_t a = text.find('\0');
      if (a == std::string_view::npos) return;
      size_t b = text.find('\0', a + 1);
      if (b == std::string_view::npos) return;
      d::PublicKey key = d::parse_public_key(text.substr(a + 1, b - a - 1), "fuzz.pub");
      d::verify_signature("fuzz.json", text.substr(b + 1), std::string(text.substr(0, a)), "fuzz.json.minisig",
                          "no fuzz.json.minisig", {key});
      break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  try {
    read(data[0] % 5, std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  } catch (const ecli::Error&) {
  }
  return 0;
}
