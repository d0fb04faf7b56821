// The examples without annotations (issue 9): biolatency, hardirqs and
// tcpconnect compiled with ecc and run with ecli; the test causes their
// events itself and checks what ecli prints, at exit or as events.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// The whole disk holding `path`, as the kernel's dev_t (MKDEV: major << 20 | minor).
uint32_t disk_of(const fs::path& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  fs::path sys = fmt::format("/sys/dev/block/{}:{}", major(st.st_dev), minor(st.st_dev));
  std::error_code ec;
  if (fs::exists(sys / "partition", ec)) sys = fs::canonical(sys, ec).parent_path();
  unsigned ma = 0, mi = 0;
  if (sscanf(read_text(sys / "dev").c_str(), "%u:%u", &ma, &mi) != 2) return 0;
  return (ma << 20) | mi;
}

TEST(ExamplesResults, BiolatencyHistogramPerDiskCountsDirectReads) {
  REQUIRE_ROOT();
  // A file on a real disk (not tmpfs), written out, then read around the page cache.
  TempDir dir;
  fs::path file = dir / "data";
  constexpr int kReads = 64, kBlock = 4096;
  {
    int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::string block(kBlock, 'x');
    for (int i = 0; i < kReads; i++) ASSERT_EQ(write(fd, block.data(), kBlock), kBlock);
    fsync(fd);
    close(fd);
  }
  uint32_t dev = disk_of(file);
  if (!dev) GTEST_SKIP() << file << " is not on a block device (tmpfs?)";

  Process ecli(ecli_run({"--json", "-d", "30", example_package("biolatency")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  int fd = open(file.c_str(), O_RDONLY | O_DIRECT);
  ASSERT_GE(fd, 0) << strerror(errno);
  void* buffer = nullptr;
  ASSERT_EQ(posix_memalign(&buffer, kBlock, kBlock), 0);
  int done = 0;
  for (int i = 0; i < kReads; i++) done += pread(fd, buffer, kBlock, static_cast<off_t>(i) * kBlock) == kBlock;
  free(buffer);
  close(fd);
  EXPECT_EQ(done, kReads);
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();

  std::string out = ecli.out();
  bool found = false;
  for (auto& h : rows_of(out, "hists")) {
    if (h["key"]["dev"] != dev) continue;
    found = true;
    EXPECT_GE(h["total"].get<int>(), kReads) << h;  // every read one request at least
    EXPECT_FALSE(h["disk"].get<std::string>().empty()) << h;
  }
  EXPECT_TRUE(found) << "no histogram for dev " << dev << ":\n" << out << ecli.err();
  EXPECT_TRUE(rows_of(out, "start").empty()) << out;  // deleted from: state, not printed
}

TEST(ExamplesResults, HardirqsPrintsTheIrqsThatRanFromBssArrays) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"--json", "-d", "30", example_package("hardirqs")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  // Disk interrupts where a disk holds the temporary folder (a synced write,
  // read back around the page cache), and a second for the machine's own.
  {
    TempDir dir;
    fs::path file = dir / "x";
    write_text(file, std::string(1 << 16, 'x'));
    sync();
    int fd = open(file.c_str(), O_RDONLY | O_DIRECT);
    void* buffer = nullptr;
    if (fd >= 0 && posix_memalign(&buffer, 4096, 4096) == 0)
      for (int i = 0; i < 16; i++) (void)!pread(fd, buffer, 4096, static_cast<off_t>(i) * 4096);
    free(buffer);
    if (fd >= 0) close(fd);
  }
  std::this_thread::sleep_for(1s);
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0) << ecli.err();

  std::string out = ecli.out();
  auto counts = rows_of(out, "irq_count");
  ASSERT_FALSE(counts.empty()) << out << ecli.err();
  for (auto& row : counts) {
    EXPECT_GT(row["irq_count"].get<uint64_t>(), 0u) << row;  // IRQs that never ran are left out
    EXPECT_LT(row["index"].get<int>(), 256) << row;
  }
  EXPECT_FALSE(rows_of(out, "irq_time_ns").empty()) << out;
  EXPECT_TRUE(rows_of(out, "start").empty()) << out;  // written and read: state
}

// tcpconnect while a child of the test connects to a port the test listens on.
struct LocalConnect {
  std::string out;
  pid_t pid = -1;
  int port = 0;
};
LocalConnect run_tcpconnect(std::vector<std::string> options) {
  LocalConnect c;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(listener, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(listener, 4), 0);
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  c.port = ntohs(addr.sin_port);

  Trigger client([addr] {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) _exit(1);
    close(s);
  });
  c.pid = client.pid();  // wait() forgets it
  options.insert(options.end(), {"-d", "30", example_package("tcpconnect"), "--targ_tgid", std::to_string(c.pid)});
  Process ecli(ecli_run(options));
  EXPECT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  client.go();
  EXPECT_TRUE(client.wait());
  EXPECT_TRUE(ecli.wait_stdout(std::to_string(c.port))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
  close(listener);
  c.out = ecli.out();
  return c;
}

TEST(ExamplesResults, TcpconnectShowsALocalConnectWithAddressesAndPorts) {
  REQUIRE_ROOT();
  LocalConnect c = run_tcpconnect({});
  // The table row: pid, 127.0.0.1 both ends, the port listened on, CONNECT_OK.
  std::string dport = std::to_string(c.port);
  bool found = false;
  for (const auto& line : split_lines(c.out)) {
    if (line.find(" " + std::to_string(c.pid) + " ") == std::string::npos) continue;
    found = true;
    EXPECT_NE(line.find("127.0.0.1"), std::string::npos) << line;
    EXPECT_NE(line.find(" " + dport + " "), std::string::npos) << line;
    EXPECT_NE(line.find("CONNECT_OK"), std::string::npos) << line;
  }
  EXPECT_TRUE(found) << c.out;
}

TEST(ExamplesResults, TcpconnectJsonHasReadableAddressesAndPorts) {
  REQUIRE_ROOT();
  LocalConnect c = run_tcpconnect({"--json"});
  auto events = json_lines(c.out);
  ASSERT_EQ(events.size(), 1u) << c.out;
  auto& e = events[0];
  EXPECT_EQ(e["pid"], c.pid) << e;
  EXPECT_EQ(e["daddr"], "127.0.0.1") << e;
  EXPECT_EQ(e["saddr"], "127.0.0.1") << e;
  EXPECT_EQ(e["dport"], c.port) << e;
  EXPECT_GT(e["sport"].get<int>(), 0) << e;
  EXPECT_EQ(e["result"], "CONNECT_OK") << e;
}

}  // namespace
}  // namespace ecli::test
