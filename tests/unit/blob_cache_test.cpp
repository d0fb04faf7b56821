// The content-addressed cache: only verified, complete blobs under their digest.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "distribution/blob_cache.hpp"
#include "util/error.hpp"

namespace ecli::distribution {
namespace {
namespace fs = std::filesystem;

class BlobCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("ecli-blob-cache-" + std::to_string(getpid()));
    fs::remove_all(root);
  }
  void TearDown() override { fs::remove_all(root); }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(root / "blobs" / "sha256")) names.push_back(e.path().filename());
    return names;
  }
  fs::path root;
};

TEST_F(BlobCacheTest, Sha256OfKnownText) {
  EXPECT_EQ(sha256_digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_digest("{}"), "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  EXPECT_TRUE(is_sha256_digest(sha256_digest("x")));
  EXPECT_FALSE(is_sha256_digest("sha256:ABC"));
}

TEST_F(BlobCacheTest, StoresVerifiedBlobsUnderTheirDigest) {
  BlobCache cache(root);
  std::string digest = sha256_digest("hello");
  {
    BlobCache::Writer w(cache, digest, 5, "test blob");
    w.write("hel");
    w.write("lo");
    EXPECT_EQ(w.commit(), root / "blobs" / "sha256" / digest.substr(7));
  }
  EXPECT_TRUE(cache.has(digest));
  EXPECT_EQ(cache.read(digest), "hello");
  EXPECT_EQ(entries(), std::vector<std::string>{digest.substr(7)});
}

TEST_F(BlobCacheTest, MismatchLeavesNothingBehind) {
  BlobCache cache(root);
  std::string digest = sha256_digest("hello");
  try {
    BlobCache::Writer w(cache, digest, std::nullopt, "the package x");
    w.write("jello");
    w.commit();
    ADD_FAILURE() << "a wrong digest was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "digest mismatch: the package x has " + sha256_digest("jello") + ", not " + digest);
  }
  try {
    BlobCache::Writer w(cache, digest, 5, "the package x");
    w.write("hello!");
    ADD_FAILURE() << "more bytes than the descriptor's size were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than the 5 bytes"), std::string::npos) << e.what();
  }
  {
    BlobCache::Writer w(cache, digest, 5, "the package x");
    w.write("hell");
    EXPECT_THROW(w.commit(), Error);  // 4 bytes of 5: truncated
  }
  {
    BlobCache::Writer abandoned(cache, "", std::nullopt, "x");
    abandoned.write("partial");
  }
  EXPECT_TRUE(entries().empty());
  EXPECT_THROW(cache.put("jello", digest, "y"), Error);
  EXPECT_TRUE(entries().empty());
}

TEST_F(BlobCacheTest, RemovesTemporariesOfDeadWriters) {
  { BlobCache cache(root); }
  fs::path dir = root / "blobs" / "sha256";
  // A pid that cannot exist (above pid_max), and one that does (ours).
  std::ofstream(dir / ".tmp-999999999-1") << "half";
  std::ofstream(dir / (".tmp-" + std::to_string(getpid()) + "-2")) << "in progress";
  std::ofstream(root / "refs" / "abc.tmp.999999999") << "half a ref";
  BlobCache cache(root);
  EXPECT_EQ(entries(), std::vector<std::string>{".tmp-" + std::to_string(getpid()) + "-2"});
  EXPECT_FALSE(fs::exists(root / "refs" / "abc.tmp.999999999"));
}

TEST_F(BlobCacheTest, RefsMapKeysToDigests) {
  BlobCache cache(root);
  std::string digest = cache.put("package");
  EXPECT_EQ(cache.ref("oci:localhost:5000/x:1"), std::nullopt);
  cache.set_ref("oci:localhost:5000/x:1", digest);
  EXPECT_EQ(cache.ref("oci:localhost:5000/x:1"), digest);
  EXPECT_EQ(BlobCache(root).ref("oci:localhost:5000/x:1"), digest);
  EXPECT_EQ(cache.ref("oci:localhost:5000/x:2"), std::nullopt);
}

}  // namespace
}  // namespace ecli::distribution
