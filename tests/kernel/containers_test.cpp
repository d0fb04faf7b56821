// Containers (issue 11) against a real podman container: a busybox-static
// image built here once per test run (no image can be pulled), a container
// that keeps opening files, and ecli's --containers columns and --container
// filter (in the kernel through a libbpf-tools style cgroup filter, and in
// user space by the rows' pid). Every container is removed by its owner's
// destructor, also when a test fails. Without podman the tests skip.
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <filesystem>

#include <fmt/format.h>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

const char* kImage = "localhost/ecli-test-busybox:latest";

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool podman_usable() { return run({"podman", "--version"}, 20s).code == 0; }

// The image, imported from a tar of /bin/busybox and its links when podman does
// not have it yet (once per machine; importing again would leave untagged copies).
const std::string& busybox_image() {
  static std::string error = [] {
    if (run({"podman", "image", "exists", kImage}, 30s).code == 0) return std::string();
    TempDir dir;
    fs::path rootfs = dir / "rootfs";
    fs::create_directories(rootfs / "bin");
    fs::create_directories(rootfs / "etc");
    fs::copy_file("/bin/busybox", rootfs / "bin/busybox");
    for (const char* applet : {"sh", "cat", "sleep", "true"}) fs::create_symlink("busybox", rootfs / "bin" / applet);
    Result tar = run({"tar", "-C", rootfs.string(), "-cf", (dir / "rootfs.tar").string(), "."});
    if (tar.code != 0) return "tar: " + tar.err;
    Result import = run({"podman", "import", "-q", (dir / "rootfs.tar").string(), kImage}, 60s);
    return import.code == 0 ? std::string() : "podman import: " + import.err;
  }();
  return error;
}

// A running container whose shell opens /dev/null and whose cat opens
// /etc/hostname ten times a second; removed (podman rm -f) when destroyed.
class Container {
 public:
  Container() {
    static std::atomic<int> count{0};
    name_ = fmt::format("ecli-test-{}-{}", getpid(), count++);
    Result started = run({"podman", "--runtime", "runc", "run", "-d", "--network", "none", "--ulimit",
                          "nofile=20000:20000", "--ulimit", "nproc=4096:4096", "--name", name_, kImage, "sh", "-c",
                          "while :; do cat /etc/hostname >/dev/null; sleep 0.1; done"},
                         60s);
    id_ = trimmed(started.out);
    if (started.code != 0) error_ = "podman run: " + started.err;
    Result pid = run({"podman", "inspect", "-f", "{{.State.Pid}}", name_}, 30s);
    if (started.code == 0 && pid.code == 0) pid_ = std::stoi(trimmed(pid.out));
  }
  ~Container() { run({"podman", "rm", "-f", "-t", "0", name_}, 60s); }
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  const std::string& name() const { return name_; }
  const std::string& id() const { return id_; }
  int pid() const { return pid_; }  // its shell, on the host
  const std::string& error() const { return error_; }

 private:
  std::string name_, id_, error_;
  int pid_ = 0;
};

#define REQUIRE_PODMAN()                                                               \
  do {                                                                                 \
    REQUIRE_ROOT();                                                                    \
    if (!podman_usable()) GTEST_SKIP() << "podman is not installed (scripts/setup.sh)"; \
    ASSERT_EQ(busybox_image(), "");                                                    \
  } while (0)

// Runs ecli for `seconds`; once it runs, this (host) process opens `host_file`.
Result run_with_host_open(std::vector<std::string> args, const fs::path& host_file) {
  Process ecli(ecli_run(std::move(args)));
  EXPECT_TRUE(ecli.wait_stderr("running", 30s)) << ecli.err();
  for (int i = 0; i < 3; i++) {
    int fd = open(host_file.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  auto code = ecli.wait_exit(30s);
  return {code.value_or(-1), ecli.out(), ecli.err()};
}

TEST(Containers, EventsOfAContainerCarryItsIdAndName) {
  REQUIRE_PODMAN();
  Container box;
  ASSERT_EQ(box.error(), "");
  TempDir dir;
  fs::path host_file = dir / "opened-by-the-host";
  Result r = run_with_host_open({"-j", "--containers", "-d", "1.5", example_package("opensnoop")}, host_file);
  ASSERT_EQ(r.code, 0) << r.err;
  int in_container = 0, on_host = 0;
  for (const auto& row : json_lines(r.out)) {
    if (row["pid"] == box.pid() && row["fname"] == "/dev/null") {
      EXPECT_EQ(row["container_id"], box.id()) << row.dump();
      EXPECT_EQ(row["container_name"], box.name()) << row.dump();
      in_container++;
    }
    if (row["fname"] == host_file.string()) {
      EXPECT_EQ(row["container_id"], "") << row.dump();
      EXPECT_EQ(row["container_name"], "") << row.dump();
      on_host++;
    }
  }
  EXPECT_GT(in_container, 0) << r.out.substr(0, 2000);
  EXPECT_GT(on_host, 0);
}

TEST(Containers, TablesShowTheShortIdAndTheName) {
  REQUIRE_PODMAN();
  Container box;
  ASSERT_EQ(box.error(), "");
  // The cgroup id of each event names the container, also after its process exited.
  Result r = run(ecli_run({"--containers", "-d", "1", test_package("container_opens")}), 30s);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("TIME     CONTAINER_ID CONTAINER_NAME"), std::string::npos) << r.out.substr(0, 500);
  bool cat_row = false;
  std::string short_id = box.id().substr(0, 12);
  for (const auto& line : split_lines(r.out)) {
    if (line.size() < 21 || line.substr(9, 12) != short_id) continue;  // after "HH:MM:SS "
    EXPECT_NE(line.find(" " + short_id + " " + box.name() + " "), std::string::npos) << line;
    cat_row |= line.find(" cat ") != std::string::npos && line.find("/etc/hostname") != std::string::npos;
  }
  EXPECT_TRUE(cat_row) << r.out.substr(0, 2000);
}

TEST(Containers, ContainerFiltersInTheKernelThroughTheProgramsCgroupFilter) {
  REQUIRE_PODMAN();
  Container box;
  ASSERT_EQ(box.error(), "");
  TempDir dir;
  fs::path host_file = dir / "opened-by-the-host";
  Result r = run_with_host_open({"-j", "--container", box.name(), "-d", "1.5", test_package("container_opens")},
                                host_file);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("filtered in the kernel through filter_cg"), std::string::npos) << r.err;
  auto rows = json_lines(r.out);
  EXPECT_GT(rows.size(), 0u);
  for (const auto& row : rows) {
    EXPECT_EQ(row["container_id"], box.id()) << row.dump();
    EXPECT_NE(row["fname"], host_file.string()) << row.dump();
  }
}

TEST(Containers, ContainerFiltersByPidWithoutACgroupFilter) {
  REQUIRE_PODMAN();
  Container box, other;  // the other one's rows must go too
  ASSERT_EQ(box.error(), "");
  ASSERT_EQ(other.error(), "");
  TempDir dir;
  fs::path host_file = dir / "opened-by-the-host";
  // an id prefix names it too, as in docker
  Result r = run_with_host_open({"-j", "--container", box.id().substr(0, 8), "-d", "1.5", example_package("opensnoop")},
                                host_file);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("filtered by the rows' pid or cgroup id"), std::string::npos) << r.err;
  auto rows = json_lines(r.out);
  bool shell = false;
  for (const auto& row : rows) {
    EXPECT_EQ(row["container_id"], box.id()) << row.dump();
    EXPECT_NE(row["fname"], host_file.string()) << row.dump();
    EXPECT_NE(row["pid"], other.pid()) << row.dump();
    shell |= row["pid"] == box.pid();
  }
  EXPECT_TRUE(shell) << r.out.substr(0, 2000);

  // A program that says neither pid nor cgroup and has no cgroup filter cannot be limited.
  Result blind = run(ecli_run({"--container", box.name(), "-d", "1", example_package("hello")}), 30s);
  EXPECT_EQ(blind.code, 1);
  EXPECT_NE(blind.err.find("cannot be limited to a container"), std::string::npos) << blind.err;
  EXPECT_EQ(blind.err.find("attached"), std::string::npos) << blind.err;
}

TEST(Containers, ContainerFiltersTableRowsByTheirPid) {
  REQUIRE_PODMAN();
  Container box;
  ASSERT_EQ(box.error(), "");
  // syscount: a table keyed by process, printed every second.
  Result r = run(ecli_run({"-j", "--container", box.name(), "-d", "1.5", example_package("syscount")}), 30s);
  ASSERT_EQ(r.code, 0) << r.err;
  bool shell = false;
  for (const auto& row : rows_of(r.out, "syscalls")) {
    EXPECT_EQ(row["container_id"], box.id()) << row.dump();
    EXPECT_EQ(row["container_name"], box.name()) << row.dump();
    shell |= row["pid"] == box.pid();
  }
  EXPECT_TRUE(shell) << r.out.substr(0, 2000);
}

TEST(Containers, NoSuchContainerIsOneLineBeforeAnythingLoads) {
  REQUIRE_ROOT();
  Result r = run(ecli_run({"--container", "ecli-no-such-container", example_package("opensnoop")}), 30s);
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "ecli: no container 'ecli-no-such-container' (podman, docker, CRI-O, containerd looked at)\n");
  EXPECT_EQ(r.out, "");
}

}  // namespace
}  // namespace ecli::test
