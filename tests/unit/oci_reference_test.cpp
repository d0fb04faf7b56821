// Registry references: docker's grammar, and which TARGETs are references.
#include <gtest/gtest.h>

#include "distribution/oci_reference.hpp"
#include "util/error.hpp"

namespace ecli::distribution {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

TEST(OciReference, ParsesHostRepositoryTagAndDigest) {
  Reference r = parse_reference("localhost:5000/tools/opensnoop:1.0");
  EXPECT_EQ(r.registry, "localhost:5000");
  EXPECT_EQ(r.repository, "tools/opensnoop");
  EXPECT_EQ(r.tag, "1.0");
  EXPECT_EQ(r.digest, "");
  EXPECT_EQ(r.manifest_reference(), "1.0");
  EXPECT_EQ(r.str(), "localhost:5000/tools/opensnoop:1.0");

  Reference d = parse_reference("ghcr.io/org/tool@" + kDigest);
  EXPECT_EQ(d.registry, "ghcr.io");
  EXPECT_EQ(d.repository, "org/tool");
  EXPECT_EQ(d.manifest_reference(), kDigest);
  EXPECT_EQ(d.str(), "ghcr.io/org/tool@" + kDigest);

  EXPECT_EQ(parse_reference("127.0.0.1:5000/x").tag, "latest");
  EXPECT_EQ(parse_reference("localhost/a/b/c:v_1-2").repository, "a/b/c");
  EXPECT_EQ(parse_reference("[::1]:5000/x:y").registry, "[::1]:5000");
}

TEST(OciReference, TellsReferencesFromFiles) {
  EXPECT_TRUE(looks_like_reference("localhost:5000/x/y:1"));
  EXPECT_TRUE(looks_like_reference("localhost/x"));
  EXPECT_TRUE(looks_like_reference("registry.example.com/x"));
  EXPECT_FALSE(looks_like_reference("package.json"));
  EXPECT_FALSE(looks_like_reference("examples/hello/package.json"));
  EXPECT_FALSE(looks_like_reference("./x/package.json"));
  EXPECT_FALSE(looks_like_reference("/tmp/x.bpf.o"));
  EXPECT_FALSE(looks_like_reference("https://host/x"));
  EXPECT_FALSE(looks_like_reference("localhost:5000/"));
}

void expect_refused(const std::string& text, const std::string& why) {
  try {
    parse_reference(text);
    ADD_FAILURE() << text << " was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
  }
}

TEST(OciReference, RefusesMalformedReferences) {
  expect_refused("localhost:5000/Tools/x", "\"Tools\" is not a repository name component");
  expect_refused("localhost:5000/x:bad tag", "is not a tag");
  expect_refused("localhost:5000/x@sha256:abc", "64 lowercase hex");
  expect_refused("localhost:5000/x@md5:" + std::string(32, 'a'), "sha256");
  expect_refused("tools/opensnoop:1", "must start with the registry host");
  expect_refused("http://localhost:5000/x", "no URL scheme");
  expect_refused("local_host:5000/x", "is not a host[:port]");
  expect_refused("localhost:5000/a//b", "is not a repository name component");
}

}  // namespace
}  // namespace ecli::distribution
