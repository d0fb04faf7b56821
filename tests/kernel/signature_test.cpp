// Signatures against the real minisign tool, both ways: ecli's signatures
// pass `minisign -V`, minisign's pass `ecli run --verify-key`, and unsigned,
// changed or wrongly signed packages are refused before anything is loaded.
#include <unistd.h>

#include <cstdlib>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kMinisign = "/usr/bin/minisign";

struct KeyPair {
  std::string pub, sec, id, base64;
};

// `minisign -G`: unencrypted (-W) without a password.
KeyPair make_keys(const TempDir& dir, const std::string& name, const std::string& password = "") {
  KeyPair keys{(dir / (name + ".pub")).string(), (dir / (name + ".sec")).string(), "", ""};
  std::vector<std::string> argv = {kMinisign, "-G", "-p", keys.pub, "-s", keys.sec};
  if (password.empty()) argv.push_back("-W");
  Process p(argv, {.stdin_text = password.empty() ? "" : password + "\n" + password + "\n"});
  // Up to a minute: with a password, minisign's scrypt took over 20 s on a loaded machine.
  EXPECT_EQ(p.wait_exit(60s), 0) << p.err() << p.out();
  std::vector<std::string> lines = split_lines(read_text(keys.pub));
  EXPECT_EQ(lines.size(), 2u);
  if (lines.size() == 2) {
    // "untrusted comment: minisign public key ID": minisign drops leading zeros, ecli prints all 16 digits
    keys.id = lines[0].substr(lines[0].rfind(' ') + 1);
    keys.id.insert(0, 16 - std::min<size_t>(16, keys.id.size()), '0');
    keys.base64 = lines[1];
  }
  return keys;
}

// A copy of the hello example's package in DIR, to be signed there.
std::string package_in(const TempDir& dir) {
  std::string path = (dir / "package.json").string();
  write_text(path, read_text(example_package("hello")));
  return path;
}

Result ecli_sign(const std::string& package, const KeyPair& keys) {
  return run({ecli_bin(), "sign", package, "--key", keys.sec});
}

Result minisign_sign(const std::string& package, const KeyPair& keys) {
  return run({kMinisign, "-S", "-m", package, "-s", keys.sec});
}

// Exactly one line on stderr, containing `text`, and exit code 1.
void expect_refused(const Result& r, const std::string& text) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("ecli: ")) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// A temporary folder with an unencrypted minisign key pair and a copy of the
// hello example's package.
class Signature : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kMinisign, X_OK) != 0) GTEST_SKIP() << "minisign is not installed (scripts/setup.sh)";
    keys = make_keys(dir, "k");
    package = package_in(dir);
  }
  TempDir dir;
  KeyPair keys;
  std::string package;
};

TEST_F(Signature, MinisignVerifiesEcliSignatures) {
  Result signed_ = ecli_sign(package, keys);
  ASSERT_EQ(signed_.code, 0) << signed_.err;
  EXPECT_EQ(signed_.err, "ecli: wrote " + package + ".minisig\n");
  Result verified = run({kMinisign, "-V", "-m", package, "-p", keys.pub});
  EXPECT_EQ(verified.code, 0) << verified.err << verified.out;
  EXPECT_NE(verified.out.find("file:package.json\thashed"), std::string::npos) << verified.out;
  // minisign notices a change too: the signature is over the bytes.
  write_text(package, read_text(package) + " ");
  EXPECT_NE(run({kMinisign, "-V", "-m", package, "-p", keys.pub}).code, 0);
}

TEST_F(Signature, PasswordProtectedMinisignKey) {
  KeyPair locked = make_keys(dir, "p", "correct horse");
  {
    Process p({ecli_bin(), "sign", package, "--key", locked.sec, "--password-stdin"}, {.stdin_text = "wrong\n"});
    EXPECT_EQ(p.wait_exit(60s), 1);
    EXPECT_EQ(p.err(), "ecli: " + locked.sec + ": wrong password (the key's checksum does not match)\n");
  }
  EXPECT_FALSE(fs::exists(package + ".minisig"));
  Result no_password = ecli_sign(package, locked);
  EXPECT_EQ(no_password.code, 1);
  EXPECT_NE(no_password.err.find("--password-stdin"), std::string::npos) << no_password.err;
  Process p({ecli_bin(), "sign", package, "--key", locked.sec, "--password-stdin"}, {.stdin_text = "correct horse\n"});
  ASSERT_EQ(p.wait_exit(60s), 0) << p.err();
  Result verified = run({kMinisign, "-V", "-m", package, "-p", locked.pub});
  EXPECT_EQ(verified.code, 0) << verified.err << verified.out;
}

TEST_F(Signature, RunsWhatMinisignSigned) {
  REQUIRE_ROOT();
  Result signed_ = minisign_sign(package, keys);
  ASSERT_EQ(signed_.code, 0) << signed_.err << signed_.out;
  for (const std::string& key : {keys.pub, keys.base64}) {
    Result r = run(ecli_run({"--verify-key", key, "-d", "0.2", package}));
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("ecli: verified signature of " + package + " by key " + keys.id + "\n"), std::string::npos)
        << r.err;
  }
}

TEST_F(Signature, UnsignedPackageIsRefusedBeforeLoading) {
  REQUIRE_ROOT();
  std::vector<std::string> argv = ecli_run({"--verify-key", keys.pub, "-d", "5", package});
  bool traced = access("/usr/bin/strace", X_OK) == 0;
  std::string trace = (dir / "trace").string();
  if (traced) {
    std::vector<std::string> strace = {"/usr/bin/strace", "-f", "-qq", "-e", "trace=bpf", "-o", trace};
    // In a sanitized build: LeakSanitizer cannot stop a traced process at exit
    // (a fatal error, not a finding), so this one run goes without leak checks.
    if (const char* asan = getenv("ASAN_OPTIONS"))
      strace.insert(strace.end(), {"-E", std::string("ASAN_OPTIONS=") + asan + ":detect_leaks=0"});
    argv.insert(argv.begin(), strace.begin(), strace.end());
  }
  expect_refused(run(argv), "ecli: no signature: " + package + ".minisig does not exist");
  if (traced) {
    EXPECT_EQ(read_text(trace).find("bpf("), std::string::npos) << read_text(trace);
  }
  EXPECT_EQ(run({"bpftool", "prog", "show"}).out.find("handle_tp"), std::string::npos);
}

TEST_F(Signature, WrongKeyAndChangedPackageAreRefused) {
  const KeyPair& signer = keys;
  KeyPair other = make_keys(dir, "other");
  ASSERT_EQ(minisign_sign(package, signer).code, 0);
  expect_refused(run(ecli_run({"--verify-key", other.pub, package})),
                 package + " is signed by key " + signer.id + ", not by the key given (" + other.id + ")");
  write_text(package, read_text(package) + "\n");
  expect_refused(run(ecli_run({"--verify-key", signer.pub, package})), "signature does not match the file");
  write_text(package + ".minisig", "untrusted comment: x\nRURJ\n");
  expect_refused(run(ecli_run({"--verify-key", signer.pub, package})), package + ".minisig: truncated signature");
}

TEST_F(Signature, BpfObjectTargetsAreCheckedToo) {
  std::string object = (fs::path(example_package("hello")).parent_path() / "hello.bpf.o").string();
  if (!fs::exists(object)) GTEST_SKIP() << "ecc wrote no " << object;
  std::string copy = (dir / "hello.bpf.o").string();
  fs::copy_file(object, copy);
  expect_refused(run(ecli_run({"--verify-key", keys.base64, copy})), "no signature: " + copy + ".minisig");
}

TEST_F(Signature, HostPolicyRequiresSignatures) {
  REQUIRE_ROOT();
  const KeyPair& trusted = keys;
  KeyPair other = make_keys(dir, "other");
  std::string policy = (dir / "policy.json").string();
  write_text(policy, "{\"require_signatures\": true, \"trusted_keys\": [\"" + trusted.base64 + "\"]}");
  auto with_policy = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = ecli_run(std::move(args));
    argv.insert(argv.begin(), {"/usr/bin/env", "ECLI_POLICY=" + policy});
    return run(argv);
  };
  expect_refused(with_policy({"-d", "0.2", package}), "no signature: " + package + ".minisig does not exist");
  ASSERT_EQ(minisign_sign(package, other).code, 0);
  expect_refused(with_policy({"-d", "0.2", package}),
                 package + " is signed by key " + other.id + ", not by a trusted key (" + trusted.id + ")");
  ASSERT_EQ(minisign_sign(package, trusted).code, 0);
  Result r = with_policy({"-d", "0.2", package});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("verified signature of " + package + " by trusted key " + trusted.id), std::string::npos)
      << r.err;
  write_text(policy, "{\"require_signatures\": tru");
  expect_refused(with_policy({"-d", "0.2", package}), "policy " + policy + " is not valid JSON");
}

}  // namespace
}  // namespace ecli::test
