#pragma once
// The minisign signature format (https://jedisct1.github.io/minisign/):
// Ed25519 keys and signatures from libsodium, written and read as minisign
// 0.11 writes and reads them, so that each verifies the other's signatures.
// Signing uses the prehashed "ED" algorithm (BLAKE2b-512 of the file, then
// Ed25519), minisign's default; verification also accepts the legacy "Ed".
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ecli::distribution {

using KeyId = std::array<uint8_t, 8>;

// As minisign prints it: the 8 bytes read as a little-endian number, 16
// uppercase hex digits.
std::string key_id_hex(const KeyId& id);

struct PublicKey {
  KeyId id{};
  std::array<uint8_t, 32> key{};
};

struct SecretKey {
  KeyId id{};
  std::array<uint8_t, 64> key{};  // libsodium's: seed and public key
};

struct Signature {
  bool prehashed = true;  // "ED"; false: legacy "Ed" over the file itself
  KeyId id{};
  std::array<uint8_t, 64> signature{};
  std::string trusted_comment;  // without "trusted comment: "
  std::array<uint8_t, 64> global_signature{};  // over signature || trusted comment
};

// A .pub file's text ("untrusted comment:" line, then base64) or the bare
// base64 key as minisign -P takes it. `origin` names it in errors.
PublicKey parse_public_key(std::string_view text, const std::string& origin);
// ARG is a file when one exists at that path, else the base64 key itself.
PublicKey read_public_key(const std::string& arg);

// A secret key file from `minisign -G` (encrypted with scrypt: PASSWORD is
// needed) or `minisign -G -W` (unencrypted: no password).
SecretKey parse_secret_key(std::string_view text, const std::optional<std::string>& password,
                           const std::string& origin);

// The key file text minisign -G writes: encrypted with scrypt (OPSLIMIT,
// MEMLIMIT) when PASSWORD is given, else unencrypted (minisign -G -W).
std::string encode_secret_key(const SecretKey& key, const std::optional<std::string>& password,
                              uint64_t opslimit = 33554432, uint64_t memlimit = 1073741824);
// A new key pair (ids are random, as minisign's).
std::pair<PublicKey, SecretKey> generate_key_pair();
std::string encode_public_key(const PublicKey& key);

Signature parse_signature(std::string_view text, const std::string& origin);

// The .minisig text for DATA. The trusted comment is minisign's:
// "timestamp:T\tfile:FILE_NAME\thashed".
std::string sign(std::string_view data, const SecretKey& key, const std::string& file_name, int64_t timestamp);

// Throws Error naming the key ids when SIGNATURE is not KEY's signature of DATA.
// NAME is the signed file in messages.
void verify(std::string_view data, const Signature& signature, const PublicKey& key, const std::string& name);

// Verifies DATA (the bytes of the file at PATH) against PATH.minisig and one of
// KEYS; returns the key that signed it. Every failure is one line naming the
// key ids; KEYS_ARE says whose they are ("the key given", "a trusted key").
PublicKey verify_file(const std::string& path, std::string_view data, const std::vector<PublicKey>& keys,
                      const std::string& keys_are = "the key given");

// The same for data from elsewhere (a registry, a URL): SIGNATURE is the
// .minisig text (nullopt: "no signature: " + MISSING), SIGNATURE_NAME where it came from.
PublicKey verify_signature(const std::string& name, std::string_view data, const std::optional<std::string>& signature,
                           const std::string& signature_name, const std::string& missing,
                           const std::vector<PublicKey>& keys, const std::string& keys_are = "the key given");

// `ecli sign`: writes PATH.minisig beside PATH; returns its path.
std::string sign_file(const std::string& path, const std::string& secret_key_path,
                      const std::optional<std::string>& password);

// The host's policy (/etc/ecli/policy.json, or $ECLI_POLICY):
// {"require_signatures": true, "trusted_keys": ["RWS...", "/path/key.pub"]}.
struct Policy {
  bool require_signatures = false;
  std::vector<PublicKey> trusted_keys;
};
std::string policy_path();
// nullopt when the file does not exist; Error when it is malformed.
std::optional<Policy> read_policy(const std::string& path);

}  // namespace ecli::distribution
