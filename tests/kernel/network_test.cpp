// tc, XDP and cgroup programs against real traffic inside network namespaces
// the test makes (a veth pair between two of them; 192.0.2.0/24 is the
// documentation range and exists only there), and what every way of stopping
// leaves behind: nothing.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// Namespaces A and B joined by veth va (A, 192.0.2.1) <-> vb (B, 192.0.2.2).
class Network : public ::testing::Test {
 protected:
  std::string a = fmt::format("ecli-a-{}", getpid()), b = fmt::format("ecli-b-{}", getpid());

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for network namespaces";
    if (run({"ip", "-V"}).code != 0) GTEST_SKIP() << "iproute2 is not installed";
    for (const auto& cmd : std::vector<std::vector<std::string>>{
             {"ip", "netns", "add", a},
             {"ip", "netns", "add", b},
             {"ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb", "netns", b},
             {"ip", "-n", a, "addr", "add", "192.0.2.1/24", "dev", "va"},
             {"ip", "-n", b, "addr", "add", "192.0.2.2/24", "dev", "vb"},
             {"ip", "-n", a, "link", "set", "va", "up"},
             {"ip", "-n", b, "link", "set", "vb", "up"},
             {"ip", "-n", a, "link", "set", "lo", "up"},
             {"ip", "-n", b, "link", "set", "lo", "up"}}) {
      Result r = run(cmd);
      ASSERT_EQ(r.code, 0) << fmt::format("{}", fmt::join(cmd, " ")) << ": " << r.err;
    }
    ASSERT_EQ(in(a, {"ping", "-c", "1", "-W", "2", "192.0.2.2"}).code, 0);  // the link works, ARP is resolved
  }
  void TearDown() override {
    run({"ip", "netns", "del", a});
    run({"ip", "netns", "del", b});
  }

  static std::vector<std::string> exec_in(const std::string& ns, std::vector<std::string> cmd) {
    cmd.insert(cmd.begin(), {"ip", "netns", "exec", ns});
    return cmd;
  }
  static Result in(const std::string& ns, std::vector<std::string> cmd) { return run(exec_in(ns, std::move(cmd))); }
  std::vector<std::string> ecli_in_a(std::vector<std::string> args) { return exec_in(a, ecli_run(std::move(args))); }
  void ping_from_b(int count = 3) { in(b, {"ping", "-c", std::to_string(count), "-i", "0.2", "192.0.2.1"}); }

  // Everything of ours on va: tc filters, a clsact qdisc, tcx links, XDP.
  // bpftool 7.1 does not list tcx links per device, but any link or filter
  // keeps its program loaded: none of ours may still be (freeing is deferred,
  // so allow a moment).
  std::string left_on_va() {
    std::string loaded;
    for (int attempt = 0; attempt < 50; attempt++) {
      loaded.clear();
      std::string progs = run({"bpftool", "prog", "show"}).out;
      for (const char* name : {"tc_ingress", "xdp_count", "drop_port", "tcx_in", "tc_out"})
        if (progs.find(std::string("name ") + name + " ") != std::string::npos) loaded += std::string("loaded: ") + name + "\n";
      if (loaded.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return loaded + on_va();
  }
  std::string on_va() {
    std::string out = in(a, {"tc", "filter", "show", "dev", "va", "ingress"}).out +
                      in(a, {"tc", "filter", "show", "dev", "va", "egress"}).out;
    std::string qdisc = in(a, {"tc", "qdisc", "show", "dev", "va"}).out;
    if (qdisc.find("clsact") != std::string::npos) out += qdisc;
    std::string net = in(a, {"bpftool", "net", "show", "dev", "va"}).out;
    for (const char* name : {"tc_ingress", "xdp_count", "drop_port"})
      if (net.find(name) != std::string::npos) out += net;
    std::string link = in(a, {"ip", "-d", "link", "show", "va"}).out;
    if (link.find("prog/xdp") != std::string::npos) out += link;
    return out;
  }
};

enum class Stop { Sigint, Sigterm, Duration, Kill9 };

void stop(Process& ecli, Stop how) {
  switch (how) {
    case Stop::Sigint:
      ecli.signal(SIGINT);
      EXPECT_EQ(ecli.wait_exit(), 0);
      break;
    case Stop::Sigterm:
      ecli.signal(SIGTERM);
      EXPECT_EQ(ecli.wait_exit(), 0);
      break;
    case Stop::Duration:
      EXPECT_EQ(ecli.wait_exit(), 0);
      break;
    case Stop::Kill9:
      ecli.signal(SIGKILL);
      EXPECT_EQ(ecli.wait_exit(), 128 + SIGKILL);
      break;
  }
}

std::vector<std::string> duration_for(Stop how) {
  return how == Stop::Duration ? std::vector<std::string>{"-d", "3"} : std::vector<std::string>{};
}

TEST_F(Network, TcSeesPingsAndEveryWayOfStoppingLeavesNothing) {
  for (Stop how : {Stop::Sigint, Stop::Sigterm, Stop::Duration, Stop::Kill9}) {
    auto args = duration_for(how);
    for (const std::string& s : {std::string("--ifname"), std::string("va"), example_package("tc")})
      args.push_back(s);
    Process ecli(ecli_in_a(args));
    ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
    EXPECT_NE(ecli.err().find("attached tc_ingress to va ingress"), std::string::npos) << ecli.err();
    ping_from_b(2);
    EXPECT_TRUE(ecli.wait_stdout("Got IP packet: tot_len: 84, ttl: 64")) << ecli.out() << ecli.err();
    stop(ecli, how);
    EXPECT_EQ(left_on_va(), "") << "after stop " << static_cast<int>(how);
  }
}

TEST_F(Network, TcNetlinkRemovesItsFilterAndKeepsAClsactThatWasThere) {
  ASSERT_EQ(in(a, {"tc", "qdisc", "add", "dev", "va", "clsact"}).code, 0);
  Process ecli(ecli_in_a({"--tc-netlink", "--ifname", "va", example_package("tc")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_NE(in(a, {"tc", "filter", "show", "dev", "va", "ingress"}).out.find("tc_ingress"), std::string::npos);
  ping_from_b(1);
  EXPECT_TRUE(ecli.wait_stdout("Got IP packet")) << ecli.out();
  stop(ecli, Stop::Sigint);
  EXPECT_EQ(in(a, {"tc", "filter", "show", "dev", "va", "ingress"}).out, "");
  EXPECT_NE(in(a, {"tc", "qdisc", "show", "dev", "va"}).out.find("clsact"), std::string::npos);  // not ours to remove
}

TEST_F(Network, TcNetlinkAfterKill9IsRemovedByCleanup) {
  Process ecli(ecli_in_a({"--tc-netlink", "--ifname", "va", example_package("tc")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_NE(ecli.err().find("`ecli cleanup` removes it"), std::string::npos) << ecli.err();
  stop(ecli, Stop::Kill9);
  EXPECT_NE(on_va(), "");  // netlink filters outlive their process...
  Result cleanup = in(a, {ecli_bin(), "cleanup"});
  EXPECT_EQ(cleanup.code, 0);
  EXPECT_NE(cleanup.err.find("removed the tc filter left on va ingress (handle 1 priority 1)"), std::string::npos)
      << cleanup.err;
  EXPECT_EQ(left_on_va(), "");  // ...until `ecli cleanup`, which also removes the clsact it had added
}

TEST_F(Network, TakenHandleIsAClearErrorAndTheOtherFilterStays) {
  Process first(ecli_in_a({"--tc-netlink", "--ifname", "va", example_package("tc")}));
  ASSERT_TRUE(first.wait_stderr(kRunning)) << first.err();
  Result second = run(ecli_in_a({"--tc-netlink", "--ifname", "va", example_package("tc")}));
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.err.find("ecli: cannot attach program 'tc_ingress' to va ingress: handle 1 priority 1 is already "
                            "taken there; choose others with @tcopts"),
            std::string::npos)
      << second.err;
  EXPECT_NE(in(a, {"tc", "filter", "show", "dev", "va", "ingress"}).out.find("tc_ingress"), std::string::npos);
  stop(first, Stop::Sigint);
  EXPECT_EQ(left_on_va(), "");
}

TEST_F(Network, XdpCountsPacketsPerProtocolAndLeavesNothing) {
  for (Stop how : {Stop::Sigint, Stop::Kill9}) {
    Process ecli(ecli_in_a({"--ifname", "va", example_package("xdp-count")}));
    ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
    EXPECT_NE(ecli.err().find("attached xdp_count to va (XDP)"), std::string::npos) << ecli.err();
    ping_from_b(3);
    EXPECT_TRUE(ecli.wait_stdout(" ICMP     ", 5s)) << ecli.out() << ecli.err();
    stop(ecli, how);
    EXPECT_EQ(left_on_va(), "");
  }
}

TEST_F(Network, XdpAlreadyAttachedIsLeftAlone) {
  Process first(ecli_in_a({"--ifname", "va", example_package("xdp-count")}));
  ASSERT_TRUE(first.wait_stderr(kRunning)) << first.err();
  Result second = run(ecli_in_a({"--ifname", "va", example_package("xdp-count")}));
  EXPECT_EQ(second.code, 1);
  EXPECT_NE(second.err.find("an XDP program is already attached there (by another tool); ecli leaves it in place"),
            std::string::npos)
      << second.err;
  EXPECT_NE(in(a, {"ip", "-d", "link", "show", "va"}).out.find("prog/xdp"), std::string::npos);
  stop(first, Stop::Sigint);
  EXPECT_EQ(left_on_va(), "");
}

// Udp NoPorts of a namespace: datagrams that arrived for a closed port.
long udp_no_ports(const std::string& ns) {
  std::string snmp = run({"ip", "netns", "exec", ns, "cat", "/proc/net/snmp"}).out;
  size_t header = snmp.find("Udp: ");
  size_t values = snmp.find("Udp: ", header + 1);
  std::istringstream names(snmp.substr(header + 5, snmp.find('\n', header) - header - 5));
  std::istringstream numbers(snmp.substr(values + 5, snmp.find('\n', values) - values - 5));
  std::string name;
  long value;
  while (names >> name && numbers >> value)
    if (name == "NoPorts") return value;
  return -1;
}

TEST_F(Network, TcEgressDropsOnlyTheChosenPort) {
  Process ecli(ecli_in_a({"--ifname", "drop_port=va", example_package("tc-drop"), "--port", "9999"}));  // per program
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  long before = udp_no_ports(b);
  in(a, {"bash", "-c",
         "for i in 1 2 3; do echo x > /dev/udp/192.0.2.2/9999; echo y > /dev/udp/192.0.2.2/9998; done; sleep 0.3"});
  EXPECT_EQ(udp_no_ports(b) - before, 3);  // only the three datagrams to 9998 reached B
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  EXPECT_NE(ecli.out().find(" DROPPED 3 "), std::string::npos) << ecli.out();
  EXPECT_EQ(left_on_va(), "");
}

TEST_F(Network, MissingInterfaceStopsBeforeAnythingIsAttached) {
  Result r = run(ecli_in_a({"--ifname", "nope0", example_package("tc")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ecli: network interface 'nope0' does not exist (see `ip link`)\n");
  Result index = run(ecli_in_a({"--ifindex", "9999", example_package("tc")}));
  EXPECT_EQ(index.err, "ecli: there is no network interface with index 9999 (see `ip link`)\n");
  EXPECT_EQ(left_on_va(), "");
}

// The cgroup v2 root, wherever this machine mounts it.
std::string cgroup2_root() {
  for (const char* path : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"})
    if (fs::exists(std::string(path) + "/cgroup.procs") && fs::exists(std::string(path) + "/cgroup.subtree_control"))
      return path;
  return {};
}

TEST(Cgroup, CountsTheBytesOfItsProcessesAndDetaches) {
  REQUIRE_ROOT();
  std::string root = cgroup2_root();
  if (root.empty()) GTEST_SKIP() << "no cgroup v2 hierarchy";
  fs::path group = fs::path(root) / fmt::format("ecli-test-{}", getpid());
  ASSERT_TRUE(fs::create_directory(group));
  struct Remove {
    fs::path p;
    ~Remove() { rmdir(p.c_str()); }
  } remove{group};

  Trigger sender([group] {
    // Join the cgroup, then send 5 datagrams of 100 bytes on loopback.
    int fd = open((group / "cgroup.procs").c_str(), O_WRONLY);
    (void)!write(fd, "0", 1);
    close(fd);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char payload[100] = {};
    for (int i = 0; i < 5; i++) sendto(s, payload, sizeof payload, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  });
  Process counted(ecli_run({"--json", "--cgroup", group.string(), example_package("cgroup-bytes")}));
  ASSERT_TRUE(counted.wait_stderr(kRunning)) << counted.err();
  EXPECT_NE(counted.err().find("attached count_egress to cgroup " + group.string()), std::string::npos);
  sender.go();
  sender.wait();
  counted.signal(SIGINT);
  ASSERT_EQ(counted.wait_exit(), 0);
  // 5 datagrams of 100 bytes + 28 bytes of IP and UDP headers each.
  EXPECT_NE(counted.out().find("\"direction\":\"EGRESS\",\"packets\":5,\"bytes\":640"), std::string::npos)
      << counted.out();
  EXPECT_EQ(run({"bpftool", "cgroup", "show", group.string()}).out, "");
}

TEST(Cgroup, MissingCgroupIsAClearError) {
  REQUIRE_ROOT();
  Result r = run(ecli_run({"--cgroup", "/sys/fs/cgroup/no-such-group", example_package("cgroup-bytes")}));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ecli: cgroup /sys/fs/cgroup/no-such-group does not exist (No such file or directory)\n");
}

}  // namespace
}  // namespace ecli::test

namespace ecli::test {
namespace {

TEST_F(Network, NewerTcSectionNamesPickTheirHook) {
  Process ecli(ecli_in_a({"--ifname", "va", test_package("tcx_sections")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  EXPECT_NE(ecli.err().find("attached tcx_in to va ingress"), std::string::npos) << ecli.err();
  EXPECT_NE(ecli.err().find("attached tc_out to va egress"), std::string::npos) << ecli.err();
  // Two tcx links: bpftool 7.5 names their type "tcx", 7.1 only numbers it (11).
  std::string links = run({"bpftool", "-j", "link", "show"}).out;
  int tcx_links = 0;
  for (const auto& link : nlohmann::json::parse(links))
    if (link.value("type", nlohmann::json()) == "tcx" || link.value("type", nlohmann::json()) == 11) tcx_links++;
  EXPECT_EQ(tcx_links, 2) << links;
  stop(ecli, Stop::Sigint);
  EXPECT_EQ(left_on_va(), "");
}

}  // namespace
}  // namespace ecli::test
