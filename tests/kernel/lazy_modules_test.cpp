// libcurl (with two TLS stacks) and cpp-httplib (with OpenSSL) are modules
// that ecli loads only when a run needs them: a local run maps none of them,
// --metrics maps the listener's only, and a copy of ecli without its modules
// says in one line which one is missing and what for.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "kernel/fixture.hpp"
#include "support/process.hpp"

namespace ecli::test {
namespace {

// The file names of the shared objects a process has mapped.
std::string mapped_libraries(pid_t pid) {
  std::string names;
  for (const auto& line : split_lines(read_text(fmt::format("/proc/{}/maps", pid)))) {
    size_t slash = line.rfind('/');
    if (slash != std::string::npos && line.find(".so", slash) != std::string::npos) {
      std::string name = line.substr(slash + 1);
      if (names.find(" " + name + " ") == std::string::npos) names += " " + name + " ";
    }
  }
  return names;
}

// A loopback port that was free a moment ago.
int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

const char* const kHttpLibraries[] = {"libecli_http.so", "libcurl", "libgnutls", "libgssapi_krb5", "libldap"};
const char* const kMetricsLibraries[] = {"libecli_metrics_http.so", "libcpp-httplib"};

TEST(LazyModules, LocalRunMapsNoHttpLibraries) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({example_package("opensnoop")}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  std::string mapped = mapped_libraries(ecli.pid());
  EXPECT_NE(mapped.find(" libbpf.so"), std::string::npos) << mapped;
  for (const char* name : kHttpLibraries) EXPECT_EQ(mapped.find(name), std::string::npos) << name << " in" << mapped;
  for (const char* name : kMetricsLibraries) EXPECT_EQ(mapped.find(name), std::string::npos) << name << " in" << mapped;
  EXPECT_EQ(mapped.find("libssl"), std::string::npos) << mapped;
  EXPECT_EQ(mapped.find("libcrypto"), std::string::npos) << mapped;
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

TEST(LazyModules, MetricsRunMapsTheListenerModuleOnly) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"--metrics", fmt::format("127.0.0.1:{}", free_port()), example_package("opensnoop")}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  std::string mapped = mapped_libraries(ecli.pid());
  for (const char* name : kMetricsLibraries) EXPECT_NE(mapped.find(name), std::string::npos) << name << " not in" << mapped;
  for (const char* name : kHttpLibraries) EXPECT_EQ(mapped.find(name), std::string::npos) << name << " in" << mapped;
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

TEST(LazyModules, MissingModuleIsOneLineNamingWhatNeedsIt) {
  REQUIRE_ROOT();
  // A copy of ecli outside the build directory, without the modules beside it.
  TempDir dir;
  std::filesystem::copy_file(ecli_bin(), dir / "ecli");
  std::string self = (dir / "ecli").string();
  Process url({self, "run", "http://127.0.0.1:1/tool.json"});
  EXPECT_EQ(url.wait_exit(), 1);
  EXPECT_EQ(url.err(), fmt::format("ecli: cannot load libecli_http.so (needed for URL and registry targets): "
                                   "{}/libecli_http.so: cannot open shared object file: No such file or directory\n",
                                   dir.path().string()));
  Process metrics({self, "run", "--metrics", fmt::format("127.0.0.1:{}", free_port()), example_package("opensnoop")});
  EXPECT_EQ(metrics.wait_exit(), 1);
  EXPECT_EQ(metrics.err(), fmt::format("ecli: cannot load libecli_metrics_http.so (needed for --metrics): "
                                       "{}/libecli_metrics_http.so: cannot open shared object file: No such file or "
                                       "directory\n",
                                       dir.path().string()));
}

}  // namespace
}  // namespace ecli::test
