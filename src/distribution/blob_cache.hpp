#pragma once
// The local content-addressed cache of downloads: CACHE/blobs/sha256/<hex>
// (under cache_dir()). A blob appears under its digest only once all of it
// arrived and its SHA-256 was checked: downloads stream into a temporary
// file in the same folder and are renamed at the end. Small "ref" records
// (a registry tag -> manifest digest, a URL -> blob digest) let
// `--pull missing|never` find what was pulled before without the network.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ecli::distribution {

// "sha256:<64 lowercase hex>" of DATA.
std::string sha256_digest(std::string_view data);
// True for "sha256:" + 64 lowercase hex digits (the only algorithm we take).
bool is_sha256_digest(std::string_view digest);

// SHA-256 over data given in pieces.
class Sha256 {
 public:
  Sha256();
  void add(std::string_view data);
  std::string digest();  // "sha256:<hex>"; call once

 private:
  alignas(64) unsigned char state_[512];  // crypto_hash_sha256_state, kept opaque here
};

class BlobCache {
 public:
  // ROOT defaults to cache_dir(). Temporary files left by killed runs are
  // removed here (their pid is gone, or they are older than a day).
  explicit BlobCache(std::filesystem::path root = {});

  std::filesystem::path path_of(const std::string& digest) const;
  bool has(const std::string& digest) const;
  std::string read(const std::string& digest) const;  // Error if missing

  // A download in progress: bytes go to a temporary file; commit() checks the
  // digest (and size when known) and renames it into place. Destroyed without
  // commit(), the temporary file is removed.
  class Writer {
   public:
    Writer(const BlobCache& cache, std::string expected_digest, std::optional<uint64_t> expected_size,
           std::string source);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    void write(std::string_view data);
    // Returns the blob's path; throws Error naming SOURCE on a mismatch.
    std::filesystem::path commit();

   private:
    const BlobCache& cache_;
    std::string expected_, source_;
    std::optional<uint64_t> expected_size_;
    std::filesystem::path tmp_;
    int fd_ = -1;
    uint64_t size_ = 0;
    Sha256 hash_;
  };

  // Stores DATA (already in memory) under its digest; returns the digest.
  // When EXPECTED is given and differs, throws naming SOURCE and stores nothing.
  std::string put(std::string_view data, const std::string& expected = "", const std::string& source = "");

  // Ref records: KEY (any text) -> digest.
  std::optional<std::string> ref(const std::string& key) const;
  void set_ref(const std::string& key, const std::string& digest) const;

  const std::filesystem::path& blobs_dir() const { return blobs_; }

 private:
  void remove_stale_temporaries() const;
  std::filesystem::path root_, blobs_, refs_;
};

}  // namespace ecli::distribution
