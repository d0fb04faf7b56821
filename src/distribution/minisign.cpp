#include "distribution/minisign.hpp"

#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::distribution {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kUntrusted = "untrusted comment: ";
constexpr std::string_view kTrusted = "trusted comment: ";
constexpr size_t kMaxCommentSize = 1024;  // minisign's COMMENTMAXBYTES
// The scrypt cost of an encrypted secret key comes from the key file itself.
// minisign -G writes libsodium's "sensitive" limits (2^25 operations, 1 GiB)
// and nothing legitimate asks for more, so more is refused before scrypt runs:
// a hostile key file must not make us compute for minutes or allocate GiBs.
constexpr uint64_t kMaxScryptOpslimit = crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE;  // 2^25
constexpr uint64_t kMaxScryptMemlimit = crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE;  // 2^30

void init_sodium() {
  if (sodium_init() < 0) throw Error("cannot initialise libsodium");
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::vector<uint8_t> base64_decode(const std::string& text, const std::string& what) {
  std::vector<uint8_t> out(text.size() * 3 / 4 + 3);
  size_t len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out.data(), out.size(), text.data(), text.size(), nullptr, &len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size())
    throw Error(what + " is not valid base64");
  out.resize(len);
  return out;
}

std::string base64_encode(const uint8_t* data, size_t size) {
  std::string out(sodium_base64_encoded_len(size, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// The lines of a minisign file, without line ends.
std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  return lines;
}

// The base64 payload of a key file: after an optional untrusted comment line.
std::vector<uint8_t> key_payload(std::string_view text, const std::string& origin, bool comment_required) {
  std::vector<std::string> lines = lines_of(text);
  size_t i = 0;
  if (!lines.empty() && lines[0].starts_with(kUntrusted)) {
    i = 1;
  } else if (comment_required) {
    throw Error(origin + ": not a minisign key file (no \"untrusted comment:\" line)");
  }
  if (i >= lines.size() || trim(lines[i]).empty()) throw Error(origin + ": the key is missing");
  return base64_decode(trim(lines[i]), origin);
}

void check_algorithm(const uint8_t* alg, const std::string& origin) {
  if (alg[0] != 'E' || alg[1] != 'd')
    throw Error(origin + ": unsupported signature algorithm \"" + std::string(reinterpret_cast<const char*>(alg), 2) +
                "\" (minisign keys use Ed25519, \"Ed\")");
}

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void blake2b_512(std::string_view data, uint8_t out[crypto_generichash_BYTES_MAX]) {
  crypto_generichash(out, crypto_generichash_BYTES_MAX, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                     nullptr, 0);
}

// What the main signature covers: BLAKE2b-512 of the data ("ED") or the data ("Ed").
std::string signed_message(std::string_view data, bool prehashed) {
  if (!prehashed) return std::string(data);
  uint8_t hash[crypto_generichash_BYTES_MAX];
  blake2b_512(data, hash);
  return std::string(reinterpret_cast<const char*>(hash), sizeof hash);
}

bool ed25519_verify(const std::array<uint8_t, 64>& sig, std::string_view message, const PublicKey& key) {
  return crypto_sign_verify_detached(sig.data(), reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                                     key.key.data()) == 0;
}

// minisign's checksum of a secret key: BLAKE2b-256 of sig_alg, key id and key.
std::array<uint8_t, 32> secret_key_checksum(const uint8_t* sig_alg, const uint8_t* id_and_key) {
  std::array<uint8_t, 32> chk{};
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, chk.size());
  crypto_generichash_update(&st, sig_alg, 2);
  crypto_generichash_update(&st, id_and_key, 8 + 64);
  crypto_generichash_final(&st, chk.data(), chk.size());
  return chk;
}

constexpr size_t kSecretHeader = 2 + 2 + 2 + 32 + 8 + 8, kSecretPart = 8 + 64 + 32;

// Encrypts or decrypts the key id, key and checksum: XOR with scrypt's output.
void xor_with_password(uint8_t* secret, const std::string& password, const uint8_t* salt, uint64_t opslimit,
                       uint64_t memlimit, const std::string& origin) {
  uint8_t stream[kSecretPart];
  if (crypto_pwhash_scryptsalsa208sha256(stream, sizeof stream, password.data(), password.size(), salt, opslimit,
                                         memlimit) != 0)
    throw Error(origin + ": cannot derive the key from the password (out of memory?)");
  for (size_t i = 0; i < kSecretPart; ++i) secret[i] ^= stream[i];
  sodium_memzero(stream, sizeof stream);
}

void put_le64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

std::string file_name_of(const std::string& path) { return fs::path(path).filename().string(); }

}  // namespace

std::string key_id_hex(const KeyId& id) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llX", static_cast<unsigned long long>(le64(id.data())));
  return buf;
}

PublicKey parse_public_key(std::string_view text, const std::string& origin) {
  init_sodium();
  std::vector<uint8_t> raw = key_payload(text, origin, false);
  if (raw.size() != 2 + 8 + 32)
    throw Error(origin + ": not a minisign public key (" + std::to_string(raw.size()) + " bytes, not 42)");
  check_algorithm(raw.data(), origin);
  PublicKey key;
  std::memcpy(key.id.data(), raw.data() + 2, 8);
  std::memcpy(key.key.data(), raw.data() + 10, 32);
  return key;
}

PublicKey read_public_key(const std::string& arg) {
  std::error_code ec;
  if (fs::is_regular_file(arg, ec)) return parse_public_key(read_file(arg), arg);
  try {
    return parse_public_key(arg, "public key " + arg);  // base64 has '/' too: try it first
  } catch (const Error&) {
    if (arg.find('/') != std::string::npos || arg.ends_with(".pub"))
      throw Error("public key " + arg + " does not exist");
    throw;
  }
}

SecretKey parse_secret_key(std::string_view text, const std::optional<std::string>& password,
                           const std::string& origin) {
  init_sodium();
  std::vector<uint8_t> raw = key_payload(text, origin, true);
  // sig_alg[2] kdf_alg[2] chk_alg[2] salt[32] opslimit[8] memlimit[8] | keynum[8] sk[64] chk[32]
  constexpr size_t kHeader = kSecretHeader;
  if (raw.size() != kHeader + kSecretPart)
    throw Error(origin + ": not a minisign secret key (" + std::to_string(raw.size()) + " bytes, not 158)");
  check_algorithm(raw.data(), origin);
  if (raw[4] != 'B' || raw[5] != '2') throw Error(origin + ": unsupported checksum algorithm");
  bool encrypted = raw[2] == 'S' && raw[3] == 'c';
  if (!encrypted && (raw[2] != 0 || raw[3] != 0)) throw Error(origin + ": unsupported key derivation algorithm");
  uint8_t* secret = raw.data() + kHeader;
  bool zero_checksum = sodium_is_zero(secret + 72, 32);
  if (encrypted) {
    uint64_t opslimit = le64(raw.data() + 38), memlimit = le64(raw.data() + 46);
    if (opslimit > kMaxScryptOpslimit || memlimit > kMaxScryptMemlimit)
      throw Error(origin + ": scrypt parameters too costly (" + std::to_string(opslimit) + " operations, " +
                  std::to_string(memlimit) + " bytes of memory; at most " + std::to_string(kMaxScryptOpslimit) +
                  " and " + std::to_string(kMaxScryptMemlimit) + ", as minisign writes)");
    if (!password) throw Error(origin + " is encrypted: give its password with --password-stdin");
    xor_with_password(secret, *password, raw.data() + 6, opslimit, memlimit, origin);
    zero_checksum = false;  // a decrypted key must match its checksum
  }
  // minisign 0.11 -G -W leaves the checksum zero
  if (!zero_checksum && sodium_memcmp(secret_key_checksum(raw.data(), secret).data(), secret + 72, 32) != 0)
    throw Error(encrypted ? origin + ": wrong password (the key's checksum does not match)"
                          : origin + ": the key's checksum does not match (damaged file)");
  SecretKey key;
  std::memcpy(key.id.data(), secret, 8);
  std::memcpy(key.key.data(), secret + 8, 64);
  sodium_memzero(raw.data(), raw.size());
  return key;
}

std::string encode_secret_key(const SecretKey& key, const std::optional<std::string>& password, uint64_t opslimit,
                              uint64_t memlimit) {
  init_sodium();
  std::array<uint8_t, kSecretHeader + kSecretPart> raw{};
  raw[0] = 'E';
  raw[1] = 'd';
  raw[4] = 'B';
  raw[5] = '2';
  uint8_t* secret = raw.data() + kSecretHeader;
  std::memcpy(secret, key.id.data(), 8);
  std::memcpy(secret + 8, key.key.data(), 64);
  std::array<uint8_t, 32> chk = secret_key_checksum(raw.data(), secret);
  std::memcpy(secret + 72, chk.data(), 32);
  if (password) {
    raw[2] = 'S';
    raw[3] = 'c';
    randombytes_buf(raw.data() + 6, 32);
    put_le64(raw.data() + 38, opslimit);
    put_le64(raw.data() + 46, memlimit);
    xor_with_password(secret, *password, raw.data() + 6, opslimit, memlimit, "the new key");
  }
  std::string text = std::string(kUntrusted) + "minisign encrypted secret key\n" + base64_encode(raw.data(), raw.size()) + "\n";
  sodium_memzero(raw.data(), raw.size());
  return text;
}

std::pair<PublicKey, SecretKey> generate_key_pair() {
  init_sodium();
  PublicKey pub;
  SecretKey sec;
  crypto_sign_keypair(pub.key.data(), sec.key.data());
  randombytes_buf(pub.id.data(), pub.id.size());
  sec.id = pub.id;
  return {pub, sec};
}

std::string encode_public_key(const PublicKey& key) {
  std::array<uint8_t, 42> raw{};
  raw[0] = 'E';
  raw[1] = 'd';
  std::memcpy(raw.data() + 2, key.id.data(), 8);
  std::memcpy(raw.data() + 10, key.key.data(), 32);
  return std::string(kUntrusted) + "minisign public key " + key_id_hex(key.id) + "\n" +
         base64_encode(raw.data(), raw.size()) + "\n";
}

Signature parse_signature(std::string_view text, const std::string& origin) {
  init_sodium();
  std::vector<std::string> lines = lines_of(text);
  if (lines.empty() || !lines[0].starts_with(kUntrusted))
    throw Error(origin + ": not a minisign signature (no \"untrusted comment:\" line)");
  if (lines.size() < 4 || !lines[2].starts_with(kTrusted))
    throw Error(origin + ": truncated signature (minisign signatures have 4 lines)");
  std::vector<uint8_t> raw = base64_decode(trim(lines[1]), origin + ": the signature");
  if (raw.size() != 2 + 8 + 64)
    throw Error(origin + ": the signature has " + std::to_string(raw.size()) + " bytes, not 74");
  Signature sig;
  if (raw[0] == 'E' && raw[1] == 'D') {
    sig.prehashed = true;
  } else if (raw[0] == 'E' && raw[1] == 'd') {
    sig.prehashed = false;
  } else {
    throw Error(origin + ": unsupported signature algorithm \"" + std::string(raw.begin(), raw.begin() + 2) +
                "\" (not ED or Ed)");
  }
  std::memcpy(sig.id.data(), raw.data() + 2, 8);
  std::memcpy(sig.signature.data(), raw.data() + 10, 64);
  sig.trusted_comment = lines[2].substr(kTrusted.size());
  if (sig.trusted_comment.size() > kMaxCommentSize) throw Error(origin + ": the trusted comment is too long");
  std::vector<uint8_t> global = base64_decode(trim(lines[3]), origin + ": the comment signature");
  if (global.size() != 64)
    throw Error(origin + ": the comment signature has " + std::to_string(global.size()) + " bytes, not 64");
  std::memcpy(sig.global_signature.data(), global.data(), 64);
  return sig;
}

std::string sign(std::string_view data, const SecretKey& key, const std::string& file_name, int64_t timestamp) {
  init_sodium();
  std::string message = signed_message(data, true);
  std::array<uint8_t, 74> raw{};
  raw[0] = 'E';
  raw[1] = 'D';
  std::memcpy(raw.data() + 2, key.id.data(), 8);
  crypto_sign_detached(raw.data() + 10, nullptr, reinterpret_cast<const uint8_t*>(message.data()), message.size(),
                       key.key.data());
  std::string name = file_name;
  for (char& c : name)
    if (c == '\n' || c == '\r' || c == '\t') c = '_';
  std::string trusted = "timestamp:" + std::to_string(timestamp) + "\tfile:" + name + "\thashed";
  if (trusted.size() > kMaxCommentSize) trusted.resize(kMaxCommentSize);
  std::string global_message(reinterpret_cast<const char*>(raw.data() + 10), 64);
  global_message += trusted;
  uint8_t global[64];
  crypto_sign_detached(global, nullptr, reinterpret_cast<const uint8_t*>(global_message.data()),
                       global_message.size(), key.key.data());
  return std::string(kUntrusted) + "signature from ecli secret key\n" + base64_encode(raw.data(), raw.size()) + "\n" +
         std::string(kTrusted) + trusted + "\n" + base64_encode(global, sizeof global) + "\n";
}

void verify(std::string_view data, const Signature& signature, const PublicKey& key, const std::string& name) {
  init_sodium();
  if (signature.id != key.id)
    throw Error(name + " is signed by key " + key_id_hex(signature.id) + ", not by the key given (" +
                key_id_hex(key.id) + ")");
  if (!ed25519_verify(signature.signature, signed_message(data, signature.prehashed), key))
    throw Error("signature does not match the file: " + name + " was changed after key " + key_id_hex(key.id) +
                " signed it");
  std::string global_message(reinterpret_cast<const char*>(signature.signature.data()), 64);
  global_message += signature.trusted_comment;
  if (!ed25519_verify(signature.global_signature, global_message, key))
    throw Error(name + ": the trusted comment of its signature by key " + key_id_hex(key.id) + " was changed");
}

PublicKey verify_file(const std::string& path, std::string_view data, const std::vector<PublicKey>& keys,
                      const std::string& keys_are) {
  std::string sig_path = path + ".minisig";
  std::error_code ec;
  std::optional<std::string> text;
  if (fs::exists(sig_path, ec)) text = read_file(sig_path);
  return verify_signature(path, data, text, sig_path, sig_path + " does not exist", keys, keys_are);
}

PublicKey verify_signature(const std::string& name, std::string_view data, const std::optional<std::string>& text,
                           const std::string& signature_name, const std::string& missing,
                           const std::vector<PublicKey>& keys, const std::string& keys_are) {
  std::string given;
  for (const PublicKey& key : keys) given += (given.empty() ? "" : ", ") + key_id_hex(key.id);
  if (!text) throw Error("no signature: " + missing + "; " + name + " must be signed by " + keys_are + " (" + given + ")");
  Signature signature = parse_signature(*text, signature_name);
  for (const PublicKey& key : keys)
    if (key.id == signature.id) {
      verify(data, signature, key, name);
      return key;
    }
  throw Error(name + " is signed by key " + key_id_hex(signature.id) + ", not by " + keys_are + " (" + given + ")");
}

std::string sign_file(const std::string& path, const std::string& secret_key_path,
                      const std::optional<std::string>& password) {
  SecretKey key = parse_secret_key(read_file(secret_key_path), password, secret_key_path);
  std::string data = read_file(path);
  std::string text = sign(data, key, file_name_of(path), static_cast<int64_t>(std::time(nullptr)));
  sodium_memzero(key.key.data(), key.key.size());
  std::string sig_path = path + ".minisig";
  std::string tmp = sig_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) throw Error("cannot write " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, sig_path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot write " + sig_path);
  }
  return sig_path;
}

std::string policy_path() {
  const char* env = std::getenv("ECLI_POLICY");
  return env && *env ? env : "/etc/ecli/policy.json";
}

std::optional<Policy> read_policy(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  nlohmann::json doc = nlohmann::json::parse(read_file(path), nullptr, false);
  if (doc.is_discarded()) throw Error("policy " + path + " is not valid JSON");
  if (!doc.is_object()) throw Error("policy " + path + " is not a JSON object");
  Policy policy;
  for (const auto& [name, value] : doc.items()) {
    if (name == "require_signatures") {
      if (!value.is_boolean()) throw Error("policy " + path + ": require_signatures must be true or false");
      policy.require_signatures = value.get<bool>();
    } else if (name == "trusted_keys") {
      if (!value.is_array()) throw Error("policy " + path + ": trusted_keys must be a list of keys or key files");
      for (const auto& key : value) {
        if (!key.is_string()) throw Error("policy " + path + ": trusted_keys must be a list of keys or key files");
        try {
          policy.trusted_keys.push_back(read_public_key(key.get<std::string>()));
        } catch (const Error& e) {
          throw Error("policy " + path + ": " + e.what());
        }
      }
    } else {
      throw Error("policy " + path + ": unknown setting \"" + name + "\" (require_signatures, trusted_keys)");
    }
  }
  if (policy.require_signatures && policy.trusted_keys.empty())
    throw Error("policy " + path + " requires signatures but trusts no key (trusted_keys is empty)");
  return policy;
}

}  // namespace ecli::distribution
