// Packages from http(s) URLs, served by python3 on loopback: run, signature
// checks (URL.minisig), truncated and HTML answers, 404s, and --pull never
// offline once downloaded. Every refusal is one line and leaves only
// verified blobs in the cache.
#include <unistd.h>

#include <cstdlib>

#include "kernel/loopback_server.hpp"

namespace ecli::test {
namespace {

constexpr const char* kMinisign = "/usr/bin/minisign";

class UrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kMinisign, X_OK) != 0) GTEST_SKIP() << "minisign is not installed (scripts/setup.sh)";
    std::string package = read_text(example_package("hello"));  // compiled with the shared cache
    if (const char* old = std::getenv("ECLI_CACHE_DIR")) old_cache = old;
    setenv("ECLI_CACHE_DIR", (dir / "cache").c_str(), 1);
    fs::create_directories(dir / "www");
    write_text(dir / "www" / "package.json", package);
    write_text(dir / "www" / "unsigned.json", package);
    std::string keys = (dir / "k").string();
    Result made = run({ecli_bin(), "keygen", "-o", keys, "--no-password"});
    ASSERT_EQ(made.code, 0) << made.err;
    key_id = made.err.substr(made.err.find("(key ") + 5, 16);
    pub = keys + ".pub";
    ASSERT_EQ(run({ecli_bin(), "sign", (dir / "www" / "package.json").string(), "--key", keys + ".key"}).code, 0);
    // The same signature over changed bytes.
    std::string changed = package;
    changed.insert(changed.rfind('}'), ", \"x\": 1");
    write_text(dir / "www" / "changed.json", changed);
    write_text(dir / "www" / "changed.json.minisig", read_text(dir / "www" / "package.json.minisig"));
  }
  void TearDown() override { setenv("ECLI_CACHE_DIR", old_cache.c_str(), 1); }

  void expect_only_verified_blobs() { test::expect_only_verified_blobs(dir / "cache"); }

  TempDir dir;
  std::string old_cache, key_id, pub;
};

TEST_F(UrlTest, RefusesBadDownloadsInOneLine) {
  FileServer server(dir / "www");
  std::string truncated = server.url("truncated/package.json");
  expect_one_line_error(run(ecli_run({truncated})), "download of " + truncated + " is truncated: transfer closed with");
  expect_one_line_error(run(ecli_run({server.url("html/package.json")})),
                        server.url("html/package.json") + " is neither a package (JSON) nor a BPF object (ELF)");
  expect_one_line_error(run(ecli_run({server.url("missing.json")})),
                        "GET " + server.url("missing.json") + " answered 404");
  expect_one_line_error(run(ecli_run({"--verify-key", pub, server.url("unsigned.json")})),
                        "no signature: " + server.url("unsigned.json") + ".minisig answered 404 Not Found; " +
                            server.url("unsigned.json") + " must be signed by the key given (" + key_id + ")");
  expect_one_line_error(run(ecli_run({"--verify-key", pub, server.url("changed.json")})),
                        "signature does not match the file: " + server.url("changed.json") +
                            " was changed after key " + key_id + " signed it");
  expect_one_line_error(run(ecli_run({"http://example.invalid/package.json"})),
                        "plain http is taken only from loopback hosts; use https, or --insecure");
  std::string closed = "127.0.0.1:" + std::to_string(free_loopback_port());
  expect_one_line_error(run(ecli_run({"http://" + closed + "/package.json"})),
                        "ecli: cannot reach " + closed + ": Connection refused\n");
  expect_one_line_error(run({ecli_bin(), "pull", server.url("missing.json")}), "answered 404");
  expect_only_verified_blobs();
}

// TLS verification is always on: a self-signed certificate is refused unless
// it is trusted through SSL_CERT_FILE.
TEST_F(UrlTest, RefusesUntrustedCertificates) {
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  Result made = run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", key,
                     "-out", cert});
  ASSERT_EQ(made.code, 0) << made.err;
  FileServer server(dir / "www", cert, key);
  std::string url = server.url("package.json");
  ASSERT_TRUE(url.starts_with("https://"));
  expect_one_line_error(run(ecli_run({url})), "TLS connection to " + url.substr(8, url.find('/', 8) - 8) + " failed:");
  expect_one_line_error(run(ecli_run({"--insecure", url})), "certificate");  // --insecure never disables TLS checks
  expect_only_verified_blobs();
  // Trusted through SSL_CERT_FILE (a private CA), the same server is fine.
  Result pulled = run({"env", "SSL_CERT_FILE=" + cert, ecli_bin(), "pull", url, "-o", (dir / "out").string()});
  EXPECT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_EQ(read_text(dir / "out" / "package.json"), read_text(dir / "www" / "package.json"));
}

TEST_F(UrlTest, RunsVerifiedPackagesAndOfflineAfterwards) {
  REQUIRE_ROOT();
  FileServer server(dir / "www");
  std::string url = server.url("package.json");
  Result ran = run(ecli_run({"--verify-key", pub, "-d", "0.2", url}));
  ASSERT_EQ(ran.code, 0) << ran.err;
  EXPECT_NE(ran.err.find("ecli: verified signature of " + url + " by key " + key_id + "\n"), std::string::npos)
      << ran.err;
  server.stop();
  Result offline = run(ecli_run({"--pull", "never", "--verify-key", pub, "-d", "0.2", url}));
  EXPECT_EQ(offline.code, 0) << offline.err;
  expect_one_line_error(run(ecli_run({"--pull", "always", "-d", "0.2", url})), "cannot reach");
  expect_one_line_error(run(ecli_run({"--pull", "never", server.url("unsigned.json")})),
                        "is not in the cache (--pull never)");
  expect_only_verified_blobs();
}

}  // namespace
}  // namespace ecli::test
