// Packages through a real OCI registry (Debian's docker-registry on loopback):
// push, pull and run; skopeo reads and copies our artifact; bad references,
// closed ports and corrupted blobs are one line each with nothing half-written
// in the cache; --pull never works offline; signatures travel with the
// artifact; htpasswd logins.
#include <unistd.h>

#include <cstdlib>

#include "kernel/loopback_server.hpp"

namespace ecli::test {
namespace {

constexpr const char* kMinisign = "/usr/bin/minisign";

// Each test has its own cache and no stored registry credentials.
class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"/usr/bin/docker-registry", "/usr/bin/skopeo", "/usr/bin/htpasswd"})
      if (access(tool, X_OK) != 0) GTEST_SKIP() << tool << " is not installed (scripts/setup.sh)";
    std::string hello = read_text(example_package("hello"));  // compiled with the shared cache (vmlinux.h, PCH)
    if (const char* old = std::getenv("ECLI_CACHE_DIR")) old_cache = old;
    if (const char* old = std::getenv("HOME")) old_home = old;
    setenv("ECLI_CACHE_DIR", cache().c_str(), 1);
    setenv("HOME", dir.path().c_str(), 1);
    setenv("REGISTRY_AUTH_FILE", (dir / "auth.json").c_str(), 1);
    unsetenv("XDG_RUNTIME_DIR");
    unsetenv("DOCKER_CONFIG");
    package = (dir / "package.json").string();
    write_text(package, hello);
  }
  void TearDown() override {
    setenv("ECLI_CACHE_DIR", old_cache.c_str(), 1);
    setenv("HOME", old_home.c_str(), 1);
    unsetenv("REGISTRY_AUTH_FILE");
  }
  fs::path cache() const { return dir / "cache"; }
  Result ecli(std::vector<std::string> args) {
    args.insert(args.begin(), ecli_bin());
    return run(args);
  }

  TempDir dir;
  std::string package, old_cache, old_home;
};

TEST_F(RegistryTest, PushPullRunAndCopyWithSkopeo) {
  Registry registry;
  std::string ref = registry.host() + "/tools/hello:1";
  Result pushed = ecli({"push", package, ref, "--insecure"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  EXPECT_EQ(pushed.err, "ecli: pushed " + package + " to " + ref + "\n");
  EXPECT_TRUE(pushed.out.starts_with(registry.host() + "/tools/hello@sha256:")) << pushed.out;

  // skopeo lists and reads it as an OCI artifact.
  Result raw = run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref});
  ASSERT_EQ(raw.code, 0) << raw.err;
  nlohmann::json manifest = nlohmann::json::parse(raw.out);
  EXPECT_EQ(manifest["artifactType"], "application/vnd.ecli.package.v1+json");
  EXPECT_EQ(manifest["layers"][0]["annotations"]["org.opencontainers.image.title"], "package.json");
  EXPECT_EQ(manifest["layers"][0]["size"], fs::file_size(package));
  Result config = run({"skopeo", "inspect", "--config", "--raw", "--tls-verify=false", "docker://" + ref});
  ASSERT_EQ(config.code, 0) << config.err;
  EXPECT_EQ(nlohmann::json::parse(config.out)["name"], "hello");
  Result tags = run({"skopeo", "list-tags", "--tls-verify=false", "docker://" + registry.host() + "/tools/hello"});
  EXPECT_NE(tags.out.find("\"1\""), std::string::npos) << tags.out << tags.err;

  // A copy made by skopeo pulls and runs.
  std::string copy = registry.host() + "/copies/hello:2";
  Result copied = run({"skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false", "docker://" + ref,
                       "docker://" + copy});
  ASSERT_EQ(copied.code, 0) << copied.err;
  Result pulled = ecli({"pull", copy, "--insecure", "-o", (dir / "out").string()});
  ASSERT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_NE(pulled.err.find(", unsigned\n"), std::string::npos) << pulled.err;
  EXPECT_EQ(read_text(dir / "out" / "package.json"), read_text(package));
  EXPECT_FALSE(fs::exists(dir / "out" / "package.json.minisig"));
  // By digest: from the registry, then from the cache alone.
  std::string by_digest = pushed.out.substr(0, pushed.out.find('\n'));
  Result pinned = ecli({"pull", by_digest, "--insecure", "-o", (dir / "pinned").string()});
  ASSERT_EQ(pinned.code, 0) << pinned.err;
  EXPECT_EQ(read_text(dir / "pinned" / "package.json"), read_text(package));
  Result cached = ecli({"pull", by_digest, "--pull", "never", "-o", (dir / "cached").string()});
  EXPECT_EQ(cached.code, 0) << cached.err;
  if (geteuid() == 0) {
    Result ran = run(ecli_run({"--insecure", "-d", "0.2", copy}));
    EXPECT_EQ(ran.code, 0) << ran.err;
  }
  expect_only_verified_blobs(cache());
}

TEST_F(RegistryTest, BadReferencesAndRegistriesAreOneLine) {
  Registry registry;
  std::string ref = registry.host() + "/tools/hello:1";
  ASSERT_EQ(ecli({"push", package, ref, "--insecure"}).code, 0);
  expect_one_line_error(ecli({"pull", registry.host() + "/tools/hello:nope", "--insecure"}),
                        "ecli: no tag 'nope' in " + registry.host() + "/tools/hello\n");
  std::string zeros = "sha256:" + std::string(64, '0');
  expect_one_line_error(ecli({"pull", registry.host() + "/tools/hello@" + zeros, "--insecure"}),
                        "ecli: no manifest " + zeros + " in " + registry.host() + "/tools/hello\n");
  std::string closed = "127.0.0.1:" + std::to_string(free_loopback_port());
  expect_one_line_error(ecli({"pull", closed + "/tools/hello:1", "--insecure"}),
                        "ecli: cannot reach " + closed + ": Connection refused\n");
  expect_one_line_error(ecli({"pull", ref}), "(a plain-HTTP registry on loopback needs --insecure)");
  expect_one_line_error(ecli({"pull", "registry.example.com/x:1", "--insecure"}),
                        "--insecure (plain HTTP) is allowed only for registries on loopback");
  expect_one_line_error(ecli({"pull", registry.host() + "/Tools/x", "--insecure"}), "is not a repository name");
  expect_one_line_error(ecli({"push", example_source("hello").string(), ref, "--insecure"}),
                        "(ecli push takes a package.json from ecc)");

  // A blob changed in the registry's storage: refused, nothing kept.
  nlohmann::json manifest = nlohmann::json::parse(
      run({"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + ref}).out);
  std::string layer = manifest["layers"][0]["digest"];
  fs::path data = registry.storage() / "docker/registry/v2/blobs/sha256" / layer.substr(7, 2) / layer.substr(7) / "data";
  ASSERT_TRUE(fs::exists(data));
  std::string bytes = read_text(data);
  bytes[bytes.size() / 2] ^= 1;
  write_text(data, bytes);
  Result corrupt = ecli({"pull", ref, "--insecure", "-o", (dir / "out").string()});
  expect_one_line_error(corrupt, "digest mismatch: the package " + registry.host() + "/tools/hello@" + layer + " has sha256:");
  EXPECT_FALSE(fs::exists(dir / "out" / "package.json"));
  EXPECT_FALSE(fs::exists(cache() / "blobs" / "sha256" / layer.substr(7)));
  expect_only_verified_blobs(cache());
}

TEST_F(RegistryTest, PullNeverRunsOfflineAfterOnePull) {
  REQUIRE_ROOT();
  Registry registry;
  std::string ref = registry.host() + "/tools/hello:1";
  ASSERT_EQ(ecli({"push", package, ref, "--insecure"}).code, 0);
  expect_one_line_error(run(ecli_run({"--pull", "never", "-d", "0.2", ref})),
                        ref + " is not in the cache (--pull never)");
  Result first = run(ecli_run({"--insecure", "-d", "0.2", ref}));
  ASSERT_EQ(first.code, 0) << first.err;
  registry.stop();
  Result offline = run(ecli_run({"--pull", "never", "-d", "0.2", ref}));
  EXPECT_EQ(offline.code, 0) << offline.err;
  Result missing = run(ecli_run({"-d", "0.2", ref}));  // the default, missing: the cache is enough
  EXPECT_EQ(missing.code, 0) << missing.err;
  expect_one_line_error(run(ecli_run({"--insecure", "--pull", "always", "-d", "0.2", ref})),
                        "ecli: cannot reach " + registry.host() + ": Connection refused\n");
  expect_one_line_error(run(ecli_run({"--pull", "sometimes", ref})), "--pull sometimes: say always, missing or never");
}

TEST_F(RegistryTest, SignaturesTravelWithTheArtifact) {
  if (access(kMinisign, X_OK) != 0) GTEST_SKIP() << "minisign is not installed (scripts/setup.sh)";
  Registry registry;
  std::string ref = registry.host() + "/tools/hello:1";
  ASSERT_EQ(ecli({"push", package, ref, "--insecure"}).code, 0);

  // ecli keygen makes keys minisign can use.
  std::string base = (dir / "k").string();
  Result made = ecli({"keygen", "-o", base, "--no-password"});
  ASSERT_EQ(made.code, 0) << made.err;
  std::string pub = base + ".pub", sec = base + ".key";
  std::string id = made.err.substr(made.err.find("(key ") + 5, 16);
  expect_one_line_error(ecli({"keygen", "-o", base, "--no-password"}), "exists already");
  expect_one_line_error(ecli({"keygen", "-o", (dir / "k2").string()}), "--no-password");
  write_text(dir / "note.txt", "x");
  ASSERT_EQ(run({kMinisign, "-S", "-s", sec, "-m", (dir / "note.txt").string()}).code, 0);
  EXPECT_EQ(run({kMinisign, "-V", "-p", pub, "-m", (dir / "note.txt").string()}).code, 0);

  // Unsigned: refused naming the key wanted.
  Result unsigned_ = run(ecli_run({"--insecure", "--verify-key", pub, ref}));
  expect_one_line_error(unsigned_, "no signature: " + ref + " has no signature (no tag sha256-");
  EXPECT_NE(unsigned_.err.find("must be signed by the key given (" + id + ")"), std::string::npos) << unsigned_.err;

  // ecli sign REF pushes a signature artifact; run --verify-key takes it.
  Result signed_ = ecli({"sign", ref, "--key", sec, "--insecure"});
  ASSERT_EQ(signed_.code, 0) << signed_.err;
  EXPECT_NE(signed_.err.find(".minisig"), std::string::npos) << signed_.err;
  if (geteuid() == 0) {
    Result ran = run(ecli_run({"--insecure", "--verify-key", pub, "-d", "0.2", ref}));
    EXPECT_EQ(ran.code, 0) << ran.err;
    EXPECT_NE(ran.err.find("ecli: verified signature of " + ref + " by key " + id + "\n"), std::string::npos) << ran.err;
  }
  // ... and minisign verifies it after ecli pull.
  Result pulled = ecli({"pull", ref, "--insecure", "-o", (dir / "out").string()});
  ASSERT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_NE(pulled.err.find("with its signature"), std::string::npos) << pulled.err;
  Result verified = run({kMinisign, "-V", "-p", pub, "-m", (dir / "out" / "package.json").string()});
  EXPECT_EQ(verified.code, 0) << verified.out << verified.err;

  // Another key: refused naming both.
  Result other = ecli({"keygen", "-o", (dir / "other").string(), "--no-password"});
  ASSERT_EQ(other.code, 0);
  std::string other_id = other.err.substr(other.err.find("(key ") + 5, 16);
  expect_one_line_error(run(ecli_run({"--insecure", "--verify-key", (dir / "other.pub").string(), ref})),
                        ref + " is signed by key " + id + ", not by the key given (" + other_id + ")");

  // A host policy requiring signatures covers registry targets too.
  write_text(dir / "policy.json", R"({"require_signatures": true, "trusted_keys": [")" + pub + R"("]})");
  setenv("ECLI_POLICY", (dir / "policy.json").c_str(), 1);
  ASSERT_EQ(ecli({"push", package, registry.host() + "/tools/unsigned:1", "--insecure"}).code, 0);
  expect_one_line_error(run(ecli_run({"--insecure", "-d", "0.2", registry.host() + "/tools/unsigned:1"})),
                        "must be signed by a trusted key (" + id + ")");
  if (geteuid() == 0) {
    Result trusted = run(ecli_run({"--insecure", "-d", "0.2", ref}));
    EXPECT_EQ(trusted.code, 0) << trusted.err;
    EXPECT_NE(trusted.err.find("by trusted key " + id), std::string::npos) << trusted.err;
  }
  unsetenv("ECLI_POLICY");

  // A package signed by minisign and pushed with its .minisig beside it.
  fs::create_directories(dir / "m");
  std::string signed_package = (dir / "m" / "package.json").string();
  write_text(signed_package, read_text(package));
  ASSERT_EQ(run({kMinisign, "-S", "-s", sec, "-m", signed_package}).code, 0);
  std::string signed_ref = registry.host() + "/tools/signed:1";
  Result pushed = ecli({"push", signed_package, signed_ref, "--insecure"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  EXPECT_NE(pushed.err.find("and its signature"), std::string::npos) << pushed.err;
  if (geteuid() == 0) {
    Result ran = run(ecli_run({"--insecure", "--verify-key", pub, "-d", "0.2", signed_ref}));
    EXPECT_EQ(ran.code, 0) << ran.err;
  }
  // The signature artifact names its subject, for registries with the referrers API.
  std::string digest = pushed.out.substr(pushed.out.find('@') + 1, 71);
  Result raw = run({"skopeo", "inspect", "--raw", "--tls-verify=false",
                    "docker://" + registry.host() + "/tools/signed:sha256-" + digest.substr(7) + ".minisig"});
  ASSERT_EQ(raw.code, 0) << raw.err;
  nlohmann::json signature = nlohmann::json::parse(raw.out);
  EXPECT_EQ(signature["artifactType"], "application/vnd.ecli.minisign.v1");
  EXPECT_EQ(signature["subject"]["digest"], digest);
  expect_only_verified_blobs(cache());
}

TEST_F(RegistryTest, HtpasswdLogin) {
  Registry registry("alice", "s3cret");
  std::string ref = registry.host() + "/tools/hello:1";
  expect_one_line_error(ecli({"push", package, ref, "--insecure"}), registry.host() + " needs a login");
  {
    Process p({ecli_bin(), "push", package, ref, "--insecure", "--username", "alice", "--password-stdin"},
              {.stdin_text = "wrong\n"});
    EXPECT_EQ(p.wait_exit(), 1);
    EXPECT_EQ(p.err(), "ecli: " + registry.host() + " refused the login of user \"alice\" (401 Unauthorized)\n");
  }
  {
    Process p({ecli_bin(), "push", package, ref, "--insecure", "--username", "alice", "--password-stdin"},
              {.stdin_text = "s3cret\n"});
    EXPECT_EQ(p.wait_exit(), 0) << p.err();
  }
  expect_one_line_error(ecli({"pull", ref, "--insecure", "--username", "alice"}), "add --password-stdin");
  // podman's auth.json (docker's config.json has the same "auths").
  write_text(dir / "auth.json", R"({"auths": {")" + registry.host() + R"(": {"auth": "YWxpY2U6czNjcmV0"}}})");
  Result pulled = ecli({"pull", ref, "--insecure", "-o", (dir / "out").string()});
  EXPECT_EQ(pulled.code, 0) << pulled.err;
  EXPECT_EQ(read_text(dir / "out" / "package.json"), read_text(package));
}

}  // namespace
}  // namespace ecli::test
