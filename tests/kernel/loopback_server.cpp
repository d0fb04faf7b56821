#include "kernel/loopback_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "distribution/blob_cache.hpp"

namespace ecli::test {
namespace {

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

int free_loopback_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr = loopback(0);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    if (fd >= 0) close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

bool wait_for_port(int port) {
  for (int attempt = 0; attempt < 500; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = loopback(port);
    bool up = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    close(fd);
    if (up) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

Registry::Registry(const std::string& user, const std::string& password) {
  storage_ = dir_ / "storage";
  port_ = free_loopback_port();
  std::string config = "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " +
                       storage_.string() + "\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n";
  if (!user.empty()) {
    Result hash = run({"htpasswd", "-Bbn", user, password});
    EXPECT_EQ(hash.code, 0) << hash.err;
    write_text(dir_ / "htpasswd", hash.out);
    config += "auth:\n  htpasswd:\n    realm: ecli-test\n    path: " + (dir_ / "htpasswd").string() + "\n";
  }
  write_text(dir_ / "config.yml", config);
  // The registry reads REGISTRY_* variables as configuration: REGISTRY_AUTH_FILE (podman's) would be auth.file.
  process_ = std::make_unique<Process>(std::vector<std::string>{"env", "-u", "REGISTRY_AUTH_FILE", "docker-registry",
                                                                "serve", (dir_ / "config.yml").string()});
  EXPECT_TRUE(wait_for_port(port_)) << "docker-registry did not start: " << process_->err();
}

Registry::~Registry() { stop(); }

void Registry::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->wait_exit(10s);
  process_.reset();
}

FileServer::FileServer(const fs::path& dir, const std::string& cert, const std::string& key) {
  port_ = free_loopback_port();
  tls_ = !cert.empty();
  write_text(script_dir_ / "serve.py", R"PY(
import http.server, os, ssl, sys
root, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=root, **k)
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path.startswith("/truncated/"):
            data = open(os.path.join(root, self.path[len("/truncated/"):]), "rb").read()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if self.path.startswith("/html/"):
            body = b"<!DOCTYPE html><html><body>Welcome to nginx!</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
if len(sys.argv) > 4:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[3], sys.argv[4])
    server.socket = context.wrap_socket(server.socket, server_side=True)
server.serve_forever()
)PY");
  std::vector<std::string> argv = {"python3", (script_dir_ / "serve.py").string(), dir.string(), std::to_string(port_)};
  if (tls_) argv.insert(argv.end(), {cert, key});
  process_ = std::make_unique<Process>(argv);
  EXPECT_TRUE(wait_for_port(port_)) << "python3 http.server did not start: " << process_->err();
}

FileServer::~FileServer() { stop(); }

void FileServer::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  process_->wait_exit(10s);
  process_.reset();
}

void expect_one_line_error(const Result& r, const std::string& text) {
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_TRUE(r.err.starts_with("ecli: ")) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(text), std::string::npos) << r.err;
}

void expect_only_verified_blobs(const fs::path& cache) {
  fs::path blobs = cache / "blobs" / "sha256";
  if (!fs::exists(blobs)) return;
  for (const auto& entry : fs::directory_iterator(blobs))
    EXPECT_EQ("sha256:" + entry.path().filename().string(), distribution::sha256_digest(read_text(entry.path())))
        << entry.path();
}

}  // namespace ecli::test
