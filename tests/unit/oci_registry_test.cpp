// The registry client against a registry played by cpp-httplib in this
// process: Bearer token auth (401 challenge, token realm, Basic credentials
// to the realm), credentials files, and garbage answers refused with one line.
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "distribution/oci_artifact.hpp"
#include "distribution/oci_registry.hpp"
#include "distribution/registry_auth.hpp"
#include "util/error.hpp"

namespace ecli::distribution {
namespace {
namespace fs = std::filesystem;

TEST(RegistryAuth, ParsesChallenges) {
  auto bearer = parse_challenge(
      "Bearer realm=\"https://auth.example.com/token\",service=\"registry.example.com\",scope=\"repository:a/b:pull\"");
  ASSERT_TRUE(bearer);
  EXPECT_EQ(bearer->scheme, "bearer");
  EXPECT_EQ(bearer->params["realm"], "https://auth.example.com/token");
  EXPECT_EQ(bearer->params["service"], "registry.example.com");
  EXPECT_EQ(bearer->params["scope"], "repository:a/b:pull");
  auto basic = parse_challenge("Basic realm=\"basic-realm\"");
  ASSERT_TRUE(basic);
  EXPECT_EQ(basic->scheme, "basic");
  EXPECT_EQ(basic->params["realm"], "basic-realm");
  EXPECT_FALSE(parse_challenge(""));
}

TEST(RegistryAuth, ReadsCredentialsFiles) {
  fs::path file = fs::temp_directory_path() / ("ecli-auth-" + std::to_string(getpid()) + ".json");
  std::ofstream(file) << R"({"auths": {"https://localhost:5000/v1/": {"auth": ")" << base64_encode("alice:s3:cret")
                      << R"("}, "other.example": {"auth": "bm8="}}})";
  setenv("REGISTRY_AUTH_FILE", file.c_str(), 1);
  auto found = stored_credentials("localhost:5000");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->username, "alice");
  EXPECT_EQ(found->password, "s3:cret");
  EXPECT_FALSE(stored_credentials("localhost:5001"));
  EXPECT_THROW(stored_credentials("other.example"), Error);  // "no" has no colon
  unsetenv("REGISTRY_AUTH_FILE");
  fs::remove(file);
}

// A registry whose /v2/ needs a Bearer token from /token, which needs alice:secret.
class FakeRegistry : public ::testing::Test {
 protected:
  void SetUp() override {
    server.Get("/token", [](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Basic " + base64_encode("alice:secret")) {
        res.status = 401;
        return;
      }
      EXPECT_EQ(req.get_param_value("scope"), "repository:t/x:pull");
      EXPECT_EQ(req.get_param_value("service"), "fake");
      res.set_content(R"({"token": "tok123"})", "application/json");
    });
    server.Get(R"(/v2/t/(\w+)/manifests/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer tok123") {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:" + std::to_string(port) +
                                               "/token\",service=\"fake\",scope=\"repository:t/x:pull\"");
        return;
      }
      std::string repo = req.matches[1];
      if (repo == "x") res.set_content(manifest, "application/vnd.oci.image.manifest.v1+json");
      else if (repo == "html") res.set_content("<html><body>Welcome</body></html>", "text/html");
      else if (repo == "huge") res.set_content(std::string(5 << 20, ' '), "application/json");
      else if (repo == "image") res.set_content(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})", "application/json");
      else res.status = 404;
    });
    server.Get(R"(/v2/t/x/referrers/(sha256:\w+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("Authorization") != "Bearer tok123") {
        res.status = 401;
        res.set_header("WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:" + std::to_string(port) +
                                               "/token\",service=\"fake\",scope=\"repository:t/x:pull\"");
        return;
      }
      EXPECT_EQ(req.get_param_value("artifactType"), "application/vnd.ecli.minisign.v1");
      if (req.matches[1] != "sha256:" + std::string(64, 'b')) {
        res.set_content(R"({"schemaVersion":2,"manifests":[]})", "application/vnd.oci.image.index.v1+json");
        return;
      }
      res.set_content(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
                      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/x-other",)"
                      R"("digest":"sha256:)" + std::string(64, 'c') + R"(","size":10},)"
                      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.ecli.minisign.v1",)"
                      R"("digest":"sha256:)" + std::string(64, 'd') + R"(","size":10}]})",
                      "application/vnd.oci.image.index.v1+json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    registry = "127.0.0.1:" + std::to_string(port);
  }
  void TearDown() override {
    server.stop();
    thread.join();
  }
  std::string error_of(RegistryOptions options, const std::string& repo) {
    try {
      RegistryClient(registry, options).get_manifest("t/" + repo, "1");
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
      return e.what();
    }
    return "(no error)";
  }

  std::string manifest = package_manifest(R"({"name":"x"})", "{}");
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::string registry;
  RegistryOptions alice{.insecure = true, .credentials = Credentials{"alice", "secret"}};
};

TEST_F(FakeRegistry, GetsABearerTokenWithBasicCredentials) {
  RegistryClient client(registry, alice);
  auto got = client.get_manifest("t/x", "1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->bytes, manifest);
  EXPECT_EQ(got->digest, sha256_digest(manifest));
  EXPECT_FALSE(client.get_manifest("t/missing", "1"));
}

TEST_F(FakeRegistry, FindsSignaturesThroughTheReferrersApi) {
  RegistryClient client(registry, alice);
  EXPECT_EQ(client.find_referrer("t/x", "sha256:" + std::string(64, 'b'), "application/vnd.ecli.minisign.v1"),
            "sha256:" + std::string(64, 'd'));
  EXPECT_EQ(client.find_referrer("t/x", "sha256:" + std::string(64, 'e'), "application/vnd.ecli.minisign.v1"),
            std::nullopt);
  // No referrers API (404): no referrer, no error.
  EXPECT_EQ(client.find_referrer("t/y", "sha256:" + std::string(64, 'b'), "application/vnd.ecli.minisign.v1"),
            std::nullopt);
}

TEST_F(FakeRegistry, RefusesMissingAndWrongCredentials) {
  // No stored credentials: the files podman and docker write are elsewhere.
  std::string home = std::getenv("HOME") ? std::getenv("HOME") : "";
  setenv("REGISTRY_AUTH_FILE", "/nonexistent", 1);
  setenv("HOME", "/nonexistent", 1);
  unsetenv("XDG_RUNTIME_DIR");
  unsetenv("DOCKER_CONFIG");
  EXPECT_EQ(error_of({.insecure = true}, "x"),
            registry + " needs a login: give --username USER --password-stdin, or store credentials with `podman "
                       "login` / `docker login`");
  EXPECT_EQ(error_of({.insecure = true, .credentials = Credentials{"alice", "wrong"}}, "x"),
            registry + " refused the login of user \"alice\" (token service " + registry + " answered 401)");
  unsetenv("REGISTRY_AUTH_FILE");
  setenv("HOME", home.c_str(), 1);
}

TEST_F(FakeRegistry, RefusesGarbageManifests) {
  EXPECT_EQ(error_of(alice, "html"),
            "the registry's answer for " + registry + "/t/html:1 is not a manifest (text/html, not JSON)");
  EXPECT_EQ(error_of(alice, "huge"),
            "the manifest at http://" + registry + "/v2/t/huge/manifests/1 is larger than the limit of 4 MiB");
  EXPECT_EQ(error_of(alice, "image"),
            registry + "/t/image:1 is not an ecli package: its manifest is "
                       "application/vnd.docker.distribution.manifest.v2+json, not "
                       "application/vnd.oci.image.manifest.v1+json");
  // Asked by digest, a manifest with another digest is refused.
  try {
    RegistryClient(registry, alice).get_manifest("t/x", "sha256:" + std::string(64, '0'));
    ADD_FAILURE() << "a manifest with another digest was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("digest mismatch"), std::string::npos) << e.what();
  }
}

TEST_F(FakeRegistry, InsecureOnlyOnLoopback) {
  try {
    RegistryClient("registry.example.com:5000", {.insecure = true});
    ADD_FAILURE() << "--insecure was accepted for a remote host";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only for registries on loopback"), std::string::npos) << e.what();
  }
}

TEST(HttpClient, UnreachableHostIsOneLine) {
  // Port 1 on loopback: nothing listens there.
  try {
    http_request({.url = "http://127.0.0.1:1/v2/"});
    ADD_FAILURE() << "a closed port answered";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "cannot reach 127.0.0.1:1: Connection refused");
  }
}

}  // namespace
}  // namespace ecli::distribution
