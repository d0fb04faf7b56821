#include "distribution/blob_cache.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::distribution {
namespace fs = std::filesystem;
namespace {

static_assert(sizeof(crypto_hash_sha256_state) <= 512);
constexpr const char* kTempPrefix = ".tmp-";

std::string hex_of(const unsigned char* bytes, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 15];
  }
  return out;
}

void init_sodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) throw Error("cannot initialise libsodium");
}

}  // namespace

Sha256::Sha256() {
  init_sodium();
  crypto_hash_sha256_init(reinterpret_cast<crypto_hash_sha256_state*>(state_));
}

void Sha256::add(std::string_view data) {
  crypto_hash_sha256_update(reinterpret_cast<crypto_hash_sha256_state*>(state_),
                            reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::string Sha256::digest() {
  unsigned char out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(reinterpret_cast<crypto_hash_sha256_state*>(state_), out);
  return "sha256:" + hex_of(out, sizeof out);
}

std::string sha256_digest(std::string_view data) {
  Sha256 h;
  h.add(data);
  return h.digest();
}

bool is_sha256_digest(std::string_view digest) {
  if (!digest.starts_with("sha256:") || digest.size() != 7 + 64) return false;
  for (char c : digest.substr(7))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

BlobCache::BlobCache(fs::path root) : root_(root.empty() ? cache_dir() : std::move(root)) {
  blobs_ = root_ / "blobs" / "sha256";
  refs_ = root_ / "refs";
  std::error_code ec;
  fs::create_directories(blobs_, ec);
  if (ec) throw Error("cannot create the cache folder " + blobs_.string() + ": " + ec.message());
  fs::create_directories(refs_, ec);
  if (ec) throw Error("cannot create the cache folder " + refs_.string() + ": " + ec.message());
  remove_stale_temporaries();
}

void BlobCache::remove_stale_temporaries() const {
  auto remove_if_stale = [&](const fs::path& path, pid_t pid) {
    std::error_code ec;
    if (temporary_is_stale(path, pid)) fs::remove(path, ec);
  };
  std::error_code ec;
  // Blobs: ".tmp-<pid>-<random>"; the writer's pid tells whether it still runs.
  for (const auto& entry : fs::directory_iterator(blobs_, ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(kTempPrefix))
      remove_if_stale(entry.path(), static_cast<pid_t>(std::atol(name.c_str() + std::strlen(kTempPrefix))));
  }
  // Refs: "<hex>.tmp.<pid>" from write_file_atomic.
  ecli::remove_stale_temporaries(refs_);
}

fs::path BlobCache::path_of(const std::string& digest) const {
  if (!is_sha256_digest(digest)) throw Error("not a sha256 digest: " + digest);
  return blobs_ / digest.substr(7);
}

bool BlobCache::has(const std::string& digest) const {
  std::error_code ec;
  return is_sha256_digest(digest) && fs::is_regular_file(path_of(digest), ec);
}

std::string BlobCache::read(const std::string& digest) const { return read_file(path_of(digest)); }

BlobCache::Writer::Writer(const BlobCache& cache, std::string expected_digest, std::optional<uint64_t> expected_size,
                          std::string source)
    : cache_(cache), expected_(std::move(expected_digest)), source_(std::move(source)), expected_size_(expected_size) {
  if (!expected_.empty() && !is_sha256_digest(expected_))
    throw Error(source_ + ": unsupported digest \"" + expected_ + "\" (only sha256:<64 hex digits>)");
  tmp_ = cache_.blobs_ / (std::string(kTempPrefix) + std::to_string(getpid()) + "-" +
                          std::to_string(randombytes_random()));
  fd_ = open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error("cannot write " + tmp_.string() + ": " + errno_text(errno));
}

BlobCache::Writer::~Writer() {
  if (fd_ >= 0) close(fd_);
  if (!tmp_.empty()) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void BlobCache::Writer::write(std::string_view data) {
  if (expected_size_ && size_ + data.size() > *expected_size_)
    throw Error(source_ + " is larger than the " + std::to_string(*expected_size_) + " bytes its descriptor says");
  hash_.add(data);
  size_ += data.size();
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error("cannot write " + tmp_.string() + ": " + errno_text(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
}

fs::path BlobCache::Writer::commit() {
  if (expected_size_ && size_ != *expected_size_)
    throw Error(source_ + " has " + std::to_string(size_) + " bytes, not the " + std::to_string(*expected_size_) +
                " its descriptor says");
  std::string actual = hash_.digest();
  if (!expected_.empty() && actual != expected_)
    throw Error("digest mismatch: " + source_ + " has " + actual + ", not " + expected_);
  if (fsync(fd_) != 0 || close(fd_) != 0) {
    fd_ = -1;
    throw Error("cannot write " + tmp_.string() + ": " + errno_text(errno));
  }
  fd_ = -1;
  fs::path final_path = cache_.path_of(actual);
  std::error_code ec;
  fs::rename(tmp_, final_path, ec);
  if (ec) throw Error("cannot store " + final_path.string() + ": " + ec.message());
  tmp_.clear();
  return final_path;
}

std::string BlobCache::put(std::string_view data, const std::string& expected, const std::string& source) {
  std::string digest = sha256_digest(data);
  if (!expected.empty() && digest != expected)
    throw Error("digest mismatch: " + source + " has " + digest + ", not " + expected);
  if (has(digest)) return digest;
  Writer writer(*this, digest, data.size(), source);
  writer.write(data);
  writer.commit();
  return digest;
}

std::optional<std::string> BlobCache::ref(const std::string& key) const {
  fs::path path = refs_ / sha256_digest(key).substr(7);
  std::error_code ec;
  if (!fs::exists(path, ec)) return std::nullopt;
  std::string text = read_file(path);
  // "<digest>\n<key>\n": the key is kept to tell a (theoretical) collision.
  size_t nl = text.find('\n');
  if (nl == std::string::npos || text.substr(nl + 1) != key + "\n") return std::nullopt;
  std::string digest = text.substr(0, nl);
  if (!is_sha256_digest(digest)) return std::nullopt;
  return digest;
}

void BlobCache::set_ref(const std::string& key, const std::string& digest) const {
  write_file_atomic(refs_ / sha256_digest(key).substr(7), digest + "\n" + key + "\n");
}

}  // namespace ecli::distribution
