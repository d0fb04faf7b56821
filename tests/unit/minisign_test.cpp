// The minisign format: keys, signatures, sign and verify, and the errors a
// user sees for bad files (one line each, never a crash).
#include "distribution/minisign.hpp"

#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "util/error.hpp"

namespace ecli::distribution {
namespace {

namespace fs = std::filesystem;

// Made by minisign 0.11: `minisign -G -W -p k.pub -s k.sec`, then
// `minisign -Sm f -s k.sec` with f holding "hello\n".
constexpr const char* kPub =
    "untrusted comment: minisign public key C6CD3CA4C566BA49\n"
    "RWRJumbFpDzNxgJxQHIpTEwlerkR1iiSQCd2t224nRPWmOqoRiJeiNA7\n";
constexpr const char* kSec =
    "untrusted comment: minisign encrypted secret key\n"
    "RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAASbpmxaQ8zcbXvhveS/Vukl+okW4/rQSKKy+DP0wIuQ7m"
    "thgqLaCBpgJxQHIpTEwlerkR1iiSQCd2t224nRPWmOqoRiJeiNA7AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
constexpr const char* kSig =
    "untrusted comment: signature from minisign secret key\n"
    "RURJumbFpDzNxjlcyroWqxIwpHLOWqf7rKAvlzxg51XUUcqPezGo3eWyRu785CT3Y/aElWHaoCZS1cf7s015bUS+Q2kSO0dBxA0=\n"
    "trusted comment: timestamp:1795443145\tfile:f\thashed\n"
    "vRW9YeL5JPZngzSe50YekYls+AV7xTXnt5cZeTTM+EPPMhi+9YIQgTrasa7KWp8RML/rBhw++6zDx9hc/aHpDA==\n";
constexpr const char* kData = "hello\n";

// The message of the Error that `f` throws ("" when it throws none).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Minisign, PublicKeyFromFileTextAndBareBase64) {
  PublicKey a = parse_public_key(kPub, "k.pub");
  PublicKey b = parse_public_key("RWRJumbFpDzNxgJxQHIpTEwlerkR1iiSQCd2t224nRPWmOqoRiJeiNA7", "arg");
  EXPECT_EQ(key_id_hex(a.id), "C6CD3CA4C566BA49");
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(encode_public_key(a), kPub);
}

TEST(Minisign, BadPublicKeys) {
  EXPECT_NE(error_of([] { parse_public_key("RWRJumb!!!", "k.pub"); }).find("k.pub is not valid base64"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_public_key("RWRJumbFpDzNxgJxQHIp", "k.pub"); }).find("not 42"), std::string::npos);
  EXPECT_NE(error_of([] { parse_public_key("untrusted comment: x\n", "k.pub"); }).find("the key is missing"),
            std::string::npos);
  // "Xd" instead of "Ed"
  EXPECT_NE(error_of([] { parse_public_key("WGRJumbFpDzNxgJxQHIpTEwlerkR1iiSQCd2t224nRPWmOqoRiJeiNA7", "k"); })
                .find("unsupported signature algorithm \"Xd\""),
            std::string::npos);
  EXPECT_NE(error_of([] { read_public_key("/nonexistent/k.pub"); }).find("does not exist"), std::string::npos);
}

TEST(Minisign, VerifiesWhatMinisignSigned) {
  Signature sig = parse_signature(kSig, "f.minisig");
  EXPECT_TRUE(sig.prehashed);
  EXPECT_EQ(sig.trusted_comment, "timestamp:1795443145\tfile:f\thashed");
  EXPECT_EQ(error_of([&] { verify(kData, sig, parse_public_key(kPub, "k.pub"), "f"); }), "");
}

TEST(Minisign, UnencryptedSecretKeyFromMinisign) {
  SecretKey key = parse_secret_key(kSec, std::nullopt, "k.sec");
  EXPECT_EQ(key_id_hex(key.id), "C6CD3CA4C566BA49");
  std::string text = sign(kData, key, "f", 1234);
  Signature sig = parse_signature(text, "f.minisig");
  EXPECT_EQ(sig.trusted_comment, "timestamp:1234\tfile:f\thashed");
  EXPECT_EQ(error_of([&] { verify(kData, sig, parse_public_key(kPub, "k.pub"), "f"); }), "");
}

TEST(Minisign, EncryptedSecretKeyRoundTrip) {
  auto [pub, sec] = generate_key_pair();
  // Small scrypt limits: the test stays fast (minisign's are 2^25 and 1 GiB).
  std::string text = encode_secret_key(sec, std::string("secret"), 524288, 16777216);
  SecretKey back = parse_secret_key(text, std::string("secret"), "k.sec");
  EXPECT_EQ(back.id, sec.id);
  EXPECT_EQ(back.key, sec.key);
  EXPECT_NE(error_of([&] { parse_secret_key(text, std::string("wrong"), "k.sec"); })
                .find("k.sec: wrong password (the key's checksum does not match)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_secret_key(text, std::nullopt, "k.sec"); }).find("--password-stdin"),
            std::string::npos);
  // Unencrypted, with a checksum.
  EXPECT_EQ(parse_secret_key(encode_secret_key(sec, std::nullopt), std::nullopt, "k.sec").key, sec.key);
}

// TEXT (a secret key file) with the scrypt limits in its header replaced.
std::string with_scrypt_limits(const std::string& text, uint64_t opslimit, uint64_t memlimit) {
  size_t start = text.find('\n') + 1, end = text.find('\n', start);
  std::string b64 = text.substr(start, end - start);
  std::vector<uint8_t> raw(b64.size());
  size_t len = 0;
  EXPECT_EQ(sodium_base642bin(raw.data(), raw.size(), b64.data(), b64.size(), nullptr, &len, nullptr,
                              sodium_base64_VARIANT_ORIGINAL), 0);
  for (int i = 0; i < 8; i++) {
    raw[38 + i] = static_cast<uint8_t>(opslimit >> (8 * i));
    raw[46 + i] = static_cast<uint8_t>(memlimit >> (8 * i));
  }
  std::string out(sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), raw.data(), len, sodium_base64_VARIANT_ORIGINAL);
  return text.substr(0, start) + out.c_str() + "\n";
}

TEST(Minisign, HostileScryptLimitsAreRefusedBeforeScryptRuns) {
  auto [pub, sec] = generate_key_pair();
  std::string text = encode_secret_key(sec, std::string("secret"), 524288, 16777216);
  // Above minisign's own limits (2^25 operations, 1 GiB): one line, with or without a password.
  std::string costly = with_scrypt_limits(text, uint64_t{1} << 40, 16777216);
  EXPECT_EQ(error_of([&] { parse_secret_key(costly, std::string("secret"), "k.sec"); }),
            "k.sec: scrypt parameters too costly (1099511627776 operations, 16777216 bytes of memory; "
            "at most 33554432 and 1073741824, as minisign writes)");
  EXPECT_EQ(error_of([&] { parse_secret_key(with_scrypt_limits(text, 524288, UINT64_MAX), std::nullopt, "k.sec"); }),
            "k.sec: scrypt parameters too costly (524288 operations, 18446744073709551615 bytes of memory; "
            "at most 33554432 and 1073741824, as minisign writes)");
  // The limits are not covered by the checksum: the same key with its own limits still opens.
  EXPECT_EQ(parse_secret_key(with_scrypt_limits(text, 524288, 16777216), std::string("secret"), "k.sec").key, sec.key);
}

TEST(Minisign, DamagedSecretKeys) {
  EXPECT_NE(error_of([] { parse_secret_key("RWQAAEIy\n", std::nullopt, "k.sec"); }).find("untrusted comment"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_secret_key("untrusted comment: x\nRWQAAEIy\n", std::nullopt, "k.sec"); })
                .find("not a minisign secret key"),
            std::string::npos);
}

TEST(Minisign, SignVerifyRoundTripAndTampering) {
  auto [pub, sec] = generate_key_pair();
  Signature sig = parse_signature(sign("package contents", sec, "package.json", 42), "package.json.minisig");
  EXPECT_EQ(error_of([&] { verify("package contents", sig, pub, "package.json"); }), "");
  EXPECT_NE(error_of([&] { verify("package c0ntents", sig, pub, "package.json"); })
                .find("signature does not match the file"),
            std::string::npos);
  Signature changed = sig;
  changed.trusted_comment = "timestamp:43\tfile:package.json\thashed";
  EXPECT_NE(error_of([&] { verify("package contents", changed, pub, "package.json"); }).find("trusted comment"),
            std::string::npos);
}

TEST(Minisign, WrongKeyNamesBothIds) {
  auto [pub, sec] = generate_key_pair();
  PublicKey other = parse_public_key(kPub, "k.pub");
  Signature sig = parse_signature(sign("x", sec, "x", 1), "x.minisig");
  std::string error = error_of([&] { verify("x", sig, other, "x"); });
  EXPECT_EQ(error, "x is signed by key " + key_id_hex(pub.id) + ", not by the key given (C6CD3CA4C566BA49)");
}

TEST(Minisign, LegacyEdSignatures) {
  auto [pub, sec] = generate_key_pair();
  // "Ed": Ed25519 over the data itself, as minisign -l writes.
  std::array<uint8_t, 74> raw{};
  raw[0] = 'E';
  raw[1] = 'd';
  std::memcpy(raw.data() + 2, sec.id.data(), 8);
  crypto_sign_detached(raw.data() + 10, nullptr, reinterpret_cast<const uint8_t*>("data"), 4, sec.key.data());
  std::string trusted = "timestamp:1\tfile:d";
  std::string global_message(reinterpret_cast<const char*>(raw.data() + 10), 64);
  global_message += trusted;
  uint8_t global[64];
  crypto_sign_detached(global, nullptr, reinterpret_cast<const uint8_t*>(global_message.data()), global_message.size(),
                       sec.key.data());
  char b64[200], gb64[200];
  sodium_bin2base64(b64, sizeof b64, raw.data(), raw.size(), sodium_base64_VARIANT_ORIGINAL);
  sodium_bin2base64(gb64, sizeof gb64, global, 64, sodium_base64_VARIANT_ORIGINAL);
  std::string text = std::string("untrusted comment: x\n") + b64 + "\ntrusted comment: " + trusted + "\n" + gb64 + "\n";
  Signature sig = parse_signature(text, "d.minisig");
  EXPECT_FALSE(sig.prehashed);
  EXPECT_EQ(error_of([&] { verify("data", sig, pub, "d"); }), "");
  EXPECT_NE(error_of([&] { verify("datA", sig, pub, "d"); }), "");
}

TEST(Minisign, BadSignatureFiles) {
  std::string lines[4] = {"untrusted comment: signature from minisign secret key",
                          "RURJumbFpDzNxjlcyroWqxIwpHLOWqf7rKAvlzxg51XUUcqPezGo3eWyRu785CT3Y/aElWHaoCZS1cf7s015bUS+Q2kSO0dBxA0=",
                          "trusted comment: timestamp:1795443145\tfile:f\thashed",
                          "vRW9YeL5JPZngzSe50YekYls+AV7xTXnt5cZeTTM+EPPMhi+9YIQgTrasa7KWp8RML/rBhw++6zDx9hc/aHpDA=="};
  auto text = [&](int n) {
    std::string t;
    for (int i = 0; i < n; ++i) t += lines[i] + "\n";
    return t;
  };
  EXPECT_NE(error_of([&] { parse_signature(text(2), "f.minisig"); }).find("f.minisig: truncated signature"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_signature("", "f.minisig"); }).find("not a minisign signature"), std::string::npos);
  lines[1] = "RURJumb*****";
  EXPECT_NE(error_of([&] { parse_signature(text(4), "f.minisig"); }).find("is not valid base64"), std::string::npos);
  lines[1] = "RURJumbFpDzNxjlcyroWqxIw";
  EXPECT_NE(error_of([&] { parse_signature(text(4), "f.minisig"); }).find("bytes, not 74"), std::string::npos);
  // "XD" instead of "ED"
  lines[1] = "WERJumbFpDzNxjlcyroWqxIwpHLOWqf7rKAvlzxg51XUUcqPezGo3eWyRu785CT3Y/aElWHaoCZS1cf7s015bUS+Q2kSO0dBxA0=";
  EXPECT_NE(error_of([&] { parse_signature(text(4), "f.minisig"); }).find("unsupported signature algorithm \"XD\""),
            std::string::npos);
  lines[1] = "RURJumbFpDzNxjlcyroWqxIwpHLOWqf7rKAvlzxg51XUUcqPezGo3eWyRu785CT3Y/aElWHaoCZS1cf7s015bUS+Q2kSO0dBxA0=";
  lines[3] = "vRW9YeL5";
  EXPECT_NE(error_of([&] { parse_signature(text(4), "f.minisig"); }).find("comment signature has 6 bytes"),
            std::string::npos);
}

TEST(Minisign, FilesAndPolicy) {
  fs::path dir = fs::temp_directory_path() / ("ecli-minisign-" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  };
  std::string data = write("package.json", "{}");
  std::string sec = write("k.sec", kSec);
  std::string pub = write("k.pub", kPub);
  EXPECT_EQ(error_of([&] { verify_file(data, "{}", {read_public_key(pub)}); }),
            "no signature: " + data + ".minisig does not exist; " + data + " must be signed by the key given (" +
                key_id_hex(read_public_key(pub).id) + ")");
  EXPECT_EQ(sign_file(data, sec, std::nullopt), data + ".minisig");
  EXPECT_EQ(error_of([&] { verify_file(data, "{}", {read_public_key(pub)}); }), "");
  auto [other, other_sec] = generate_key_pair();
  EXPECT_EQ(error_of([&] { verify_file(data, "{}", {other}); }),
            data + " is signed by key C6CD3CA4C566BA49, not by the key given (" + key_id_hex(other.id) + ")");

  EXPECT_FALSE(read_policy((dir / "none.json").string()));
  std::string policy = write("policy.json", "{\"require_signatures\": true, \"trusted_keys\": [\"" + pub +
                                                "\", \"RWRJumbFpDzNxgJxQHIpTEwlerkR1iiSQCd2t224nRPWmOqoRiJeiNA7\"]}");
  auto read = read_policy(policy);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->require_signatures);
  EXPECT_EQ(read->trusted_keys.size(), 2u);
  for (const char* bad : {"{", "[]", "{\"require_signatures\": 1}", "{\"trusted_keys\": \"x\"}",
                          "{\"require_signatures\": true}", "{\"trusted_keys\": [\"/nonexistent.pub\"]}",
                          "{\"require_signature\": true}"}) {
    std::string path = write("bad.json", bad);
    EXPECT_TRUE(error_of([&] { read_policy(path); }).starts_with("policy " + path)) << bad;
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ecli::distribution
