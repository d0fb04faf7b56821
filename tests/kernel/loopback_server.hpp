#pragma once
// Real servers on loopback for the distribution tests: Debian's
// docker-registry with a temporary storage folder (optionally behind
// htpasswd), and a small python3 HTTP server for URL targets.
#include <memory>
#include <string>

#include "kernel/fixture.hpp"

namespace ecli::test {

// A port nothing listens on right now (bound and released).
int free_loopback_port();
// True once something accepts connections on 127.0.0.1:PORT (within 10 s).
bool wait_for_port(int port);

class Registry {
 public:
  // With a user, the registry requires it (htpasswd, bcrypt).
  explicit Registry(const std::string& user = "", const std::string& password = "");
  ~Registry();
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const fs::path& storage() const { return storage_; }
  void stop();

 private:
  TempDir dir_;
  fs::path storage_;
  int port_ = 0;
  std::unique_ptr<Process> process_;
};

// python3 serving DIR on loopback; two paths misbehave on purpose:
// /truncated/NAME announces more bytes than it sends, /html/NAME answers an HTML page.
class FileServer {
 public:
  // With CERT and KEY (PEM files) it speaks https.
  explicit FileServer(const fs::path& dir, const std::string& cert = "", const std::string& key = "");
  ~FileServer();
  std::string url(const std::string& path) const {
    return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_) + "/" + path;
  }
  void stop();

 private:
  TempDir script_dir_;
  int port_ = 0;
  bool tls_ = false;
  std::unique_ptr<Process> process_;
};

// Exactly one line on stderr, starting "ecli: " and containing TEXT; exit code 1.
void expect_one_line_error(const Result& r, const std::string& text);
// Every file under CACHE/blobs/sha256 is complete and named by its digest.
void expect_only_verified_blobs(const fs::path& cache);

}  // namespace ecli::test
