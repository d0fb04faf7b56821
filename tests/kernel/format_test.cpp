// Values as people read them, through the real kernel: an address, port and
// family read from their C types, an errno return marked `/// @format errno`,
// open flags and a hex address asked for with --format.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// connect() to 127.0.0.1:9, which nothing listens on (ECONNREFUSED), and an
// openat() with O_CLOEXEC of a file that does not exist (ENOENT).
void connect_and_open() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(9);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connect(s, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  close(s);
  open("/nonexistent-ecli-format-test", O_RDONLY | O_CLOEXEC);
}

struct Outcome {
  std::string out, err;
  int code = -1;
};

Outcome run_ecli(std::vector<std::string> options) {
  Trigger trigger(connect_and_open);
  options.insert(options.end(), {"-d", "20", test_package("connect_format"), "--target",
                                 std::to_string(trigger.pid())});
  Process ecli(ecli_run(options));
  Outcome r;
  if (!ecli.wait_stderr(kRunning)) {
    r.err = ecli.err();
    return r;
  }
  trigger.go();
  ecli.wait_stdout("ENOENT", 10s);  // the openat comes after the connect
  ecli.wait_stdout("\n", 1s);
  ecli.signal(SIGINT);
  r.code = ecli.wait_exit().value_or(-1);
  r.out = ecli.out();
  r.err = ecli.err();
  return r;
}

TEST(Format, AddressPortErrnoAndFlagsReadable) {
  REQUIRE_ROOT();
  Outcome r = run_ecli({"--json", "--format", "flags=open_flags", "--fields", "af,daddr,dport,flags,ret"});
  ASSERT_EQ(r.code, 0) << r.err;
  bool saw_connect = false, saw_open = false;
  for (auto& j : json_lines(r.out)) {
    if (j["af"] == AF_INET) {
      EXPECT_EQ(j["daddr"], "127.0.0.1") << j;
      EXPECT_EQ(j["dport"], 9) << j;  // a number in host order
      EXPECT_EQ(j["ret"], "-ECONNREFUSED") << j;
      saw_connect = true;
    } else if (j["ret"] == "-ENOENT") {
      EXPECT_EQ(j["flags"], "O_RDONLY|O_CLOEXEC") << j;
      saw_open = true;
    }
  }
  EXPECT_TRUE(saw_connect) << r.out << r.err;
  EXPECT_TRUE(saw_open) << r.out << r.err;
}

TEST(Format, TableAndOneFieldAsHex) {
  REQUIRE_ROOT();
  Outcome r = run_ecli({"--format", "daddr=hex", "--format", "events.flags=open_flags", "--format", "nosuch=ip",
                    "--format", "pid=ipv6"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = split_lines(r.out);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines[0].find("DADDR"), std::string::npos) << r.out;
  bool saw_connect = false, saw_open = false;
  for (const auto& line : lines) {
    if (line.find("-ECONNREFUSED") != std::string::npos) {
      EXPECT_NE(line.find(" 0x100007f "), std::string::npos) << line;  // 127.0.0.1 as the integer it is
      EXPECT_EQ(line.find("127.0.0.1"), std::string::npos) << line;
      saw_connect = true;
    }
    if (line.find("-ENOENT") != std::string::npos) {
      EXPECT_NE(line.find("O_RDONLY|O_CLOEXEC"), std::string::npos) << line;
      saw_open = true;
    }
  }
  EXPECT_TRUE(saw_connect) << r.out << r.err;
  EXPECT_TRUE(saw_open) << r.out << r.err;
  // Each bad --format is one line on stderr; the rest printed.
  EXPECT_NE(r.err.find("ecli: --format nosuch=ip: no event or map has a field nosuch; ignored\n"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("ecli: --format pid=ipv6: ipv6 needs 16 bytes, and pid has 4 bytes; printed as usual\n"), std::string::npos)
      << r.err;
}

TEST(Format, UnknownKindIsAnError) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"--format", "ret=ipv5", test_package("connect_format")}));
  EXPECT_EQ(ecli.wait_exit(), 1);
  EXPECT_NE(ecli.err().find("'ipv5' is not a format"), std::string::npos) << ecli.err();
}

}  // namespace
}  // namespace ecli::test
