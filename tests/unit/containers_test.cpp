// Containers (issue 11) without a kernel: cgroup path layouts of every
// runtime, /proc/PID/cgroup, the runtimes' state files (fixtures written
// here), the directory over a fake /proc and cgroup tree, and the container
// columns and filter of the row printers.
#include <gtest/gtest.h>

#include <bpf/btf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

#include "btf/render_plan.hpp"
#include "containers/cgroup_path.hpp"
#include "containers/directory.hpp"
#include "containers/runtime_state.hpp"
#include "output/container_columns.hpp"
#include "output/event_format.hpp"
#include "output/snapshot.hpp"
#include "package/sample_spec.hpp"
#include "util/error.hpp"

namespace ecli::containers {
namespace {

namespace fs = std::filesystem;

const std::string kId = "7d73b6c1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d";
const std::string kOther = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

std::optional<CgroupContainer> parse(const std::string& path) { return container_of_cgroup(path); }

void expect_container(const std::string& path, Runtime runtime, const std::string& id = kId) {
  auto c = parse(path);
  ASSERT_TRUE(c) << path;
  EXPECT_EQ(c->id, id) << path;
  EXPECT_EQ(runtime_name(c->runtime), runtime_name(runtime)) << path;
}

TEST(CgroupPath, PodmanCgroupfsAndSystemd) {
  expect_container("/libpod_parent/libpod-" + kId, Runtime::Podman);
  expect_container("/machine.slice/libpod-" + kId + ".scope", Runtime::Podman);
  expect_container("/machine.slice/libpod-" + kId + ".scope/container", Runtime::Podman);
  expect_container("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" + kId + ".scope/container",
                   Runtime::Podman);
}

TEST(CgroupPath, Docker) {
  expect_container("/docker/" + kId, Runtime::Docker);
  expect_container("/system.slice/docker-" + kId + ".scope", Runtime::Docker);
  // docker in docker: the innermost container is the one the process runs in
  expect_container("/docker/" + kOther + "/docker/" + kId, Runtime::Docker);
}

TEST(CgroupPath, KubernetesContainerdAndCriO) {
  expect_container("/kubepods/burstable/pod0f4b2c1a-1111-2222-3333-444455556666/" + kId, Runtime::Kubernetes);
  expect_container("/kubepods/pod0f4b2c1a-1111-2222-3333-444455556666/" + kId, Runtime::Kubernetes);
  expect_container("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0f4b2c1a_1111_2222_3333_"
                   "444455556666.slice/cri-containerd-" + kId + ".scope",
                   Runtime::Containerd);
  expect_container("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/crio-" + kId + ".scope",
                   Runtime::CriO);
  expect_container("/kubepods.slice/kubepods-podabc.slice/crio-" + kId + ".scope/container", Runtime::CriO);
  expect_container("/system.slice/nerdctl-" + kId + ".scope", Runtime::Containerd);
}

TEST(CgroupPath, MonitorsAndHostAreNoContainer) {
  EXPECT_FALSE(parse("/machine.slice/libpod-conmon-" + kId + ".scope"));
  EXPECT_FALSE(parse("/kubepods.slice/kubepods-podabc.slice/crio-conmon-" + kId + ".scope"));
  EXPECT_FALSE(parse("/libpod_parent/conmon"));
  EXPECT_FALSE(parse("/"));
  EXPECT_FALSE(parse(""));
  EXPECT_FALSE(parse("/user.slice/user-0.slice/session-1.scope"));
  EXPECT_FALSE(parse("/system.slice/docker.service"));
  EXPECT_FALSE(parse("/kubepods/burstable/pod0f4b2c1a-1111-2222-3333-444455556666"));  // the pod, no container
  EXPECT_FALSE(parse("/docker/" + kId.substr(0, 63)));                                  // too short
  std::string upper = kId;
  upper[0] = 'D';
  EXPECT_FALSE(parse("/docker/" + upper + "0"));
  EXPECT_FALSE(parse("/libpod_parent/libpod-" + kId + "x"));
}

TEST(CgroupPath, ProcCgroupFile) {
  // hybrid (this machine): the unified line wins, also over v1 paths
  std::string hybrid = "9:name=systemd:/libpod_parent/libpod-" + kId + "\n4:memory:/process_api/85a9\n0::/libpod_parent/libpod-" + kId + "\n";
  EXPECT_EQ(cgroup_of_proc(hybrid), "/libpod_parent/libpod-" + kId);
  EXPECT_EQ(cgroup_of_proc("4:memory:/process_api/85a9\n1:cpu:/\n0::/\n"), "/");
  // cgroup v2 only
  EXPECT_EQ(cgroup_of_proc("0::/system.slice/docker-" + kId + ".scope\n"), "/system.slice/docker-" + kId + ".scope");
  // cgroup v1 only: the first non-root path
  EXPECT_EQ(cgroup_of_proc("12:pids:/\n11:memory:/docker/" + kId + "\n10:cpu,cpuacct:/docker/" + kId + "\n"),
            "/docker/" + kId);
  EXPECT_EQ(cgroup_of_proc(""), "");
  EXPECT_EQ(cgroup_of_proc("garbage\n"), "");
  // a path holding ':' stays whole
  EXPECT_EQ(cgroup_of_proc("0::/a:b\n"), "/a:b");
}

TEST(RuntimeState, PodmanStorageJson) {
  std::string json = R"([{"id":")" + kId + R"(","names":["web"],"image":"x"},)"
                     R"({"id":"short","names":["bad"]},{"id":")" + kOther + R"("}])";
  auto records = parse_storage_containers(json, Runtime::Podman);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "web");
  EXPECT_EQ(records[1].id, kOther);
  EXPECT_EQ(records[1].name, "");
  EXPECT_TRUE(parse_storage_containers("not json", Runtime::Podman).empty());
  EXPECT_TRUE(parse_storage_containers(R"({"id":"x"})", Runtime::Podman).empty());
}

TEST(RuntimeState, DockerAndBundleNames) {
  EXPECT_EQ(parse_docker_name(R"({"ID":"x","Name":"/db","Config":{}})"), "db");
  EXPECT_EQ(parse_docker_name("<html>"), "");
  EXPECT_EQ(parse_bundle_name(R"({"annotations":{"io.kubernetes.cri.container-name":"nginx",
      "io.kubernetes.cri.sandbox-name":"web-7d9f"}})"),
            "web-7d9f/nginx");
  EXPECT_EQ(parse_bundle_name(R"({"annotations":{"io.kubernetes.container.name":"redis",
      "io.kubernetes.pod.name":"cache-0"}})"),
            "cache-0/redis");
  EXPECT_EQ(parse_bundle_name(R"({"annotations":{"nerdctl/name":"box"}})"), "box");
  EXPECT_EQ(parse_bundle_name(R"({"ociVersion":"1.0.2"})"), "");
  EXPECT_EQ(parse_bundle_name(R"({"annotations":"x"})"), "");
}

class TempTree {
 public:
  TempTree() {
    char pattern[] = "/tmp/ecli-containers-XXXXXX";
    root_ = mkdtemp(pattern);
  }
  ~TempTree() { fs::remove_all(root_); }
  fs::path operator/(const std::string& rel) const { return root_ / rel; }
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  uint64_t mkdir(const std::string& rel) const {
    fs::create_directories(root_ / rel);
    struct stat info {};
    stat((root_ / rel).c_str(), &info);
    return info.st_ino;
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

// A host with one container of each runtime in its state files.
const std::string kDocker = "d0c4e400000000000000000000000000000000000000000000000000000000aa";
const std::string kContainerd = "c0de0000000000000000000000000000000000000000000000000000000000bb";
const std::string kCrio = "c210000000000000000000000000000000000000000000000000000000000ccc";

void write_state(const TempTree& t) {
  t.write("state/var/lib/containers/storage/overlay-containers/containers.json",
          R"([{"id":")" + kId + R"(","names":["web"]},{"id":")" + kOther + R"(","names":["stopped"]}])");
  t.write("state/var/lib/docker/containers/" + kDocker + "/config.v2.json", R"({"Name":"/db"})");
  t.write("state/run/containerd/io.containerd.runtime.v2.task/k8s.io/" + kContainerd + "/config.json",
          R"({"annotations":{"io.kubernetes.cri.container-name":"nginx","io.kubernetes.cri.sandbox-name":"web-1"}})");
  t.write("state/run/containers/storage/overlay-containers/" + kCrio + "/userdata/config.json",
          R"({"annotations":{"io.kubernetes.container.name":"redis","io.kubernetes.pod.name":"cache-0"}})");
}

TEST(RuntimeState, ReadsEveryRuntimeFromItsFiles) {
  TempTree t;
  write_state(t);
  StatePaths paths{(t / "state").string()};
  auto all = read_all_containers(paths);
  std::map<std::string, std::string> names;
  for (const auto& r : all) names[r.id] = r.name;
  EXPECT_EQ(names[kId], "web");
  EXPECT_EQ(names[kOther], "stopped");
  EXPECT_EQ(names[kDocker], "db");
  EXPECT_EQ(names[kContainerd], "web-1/nginx");
  EXPECT_EQ(names[kCrio], "cache-0/redis");
  EXPECT_EQ(all.size(), 5u);
  EXPECT_EQ(read_container_name(paths, kDocker, Runtime::Docker, {}), "db");
  EXPECT_EQ(read_container_name(paths, kContainerd, Runtime::Kubernetes, {}), "web-1/nginx");
  EXPECT_EQ(read_container_name(paths, kCrio, Runtime::CriO, {}), "cache-0/redis");
  EXPECT_EQ(read_container_name(paths, "../../etc", Runtime::Docker, {}), "");
  // nothing there at all: no names, no error
  EXPECT_TRUE(read_all_containers(StatePaths{(t / "nothing").string()}).empty());
}

// A fake host: /proc/PID/cgroup files and a cgroup tree whose directory inodes are the cgroup ids.
struct FakeHost {
  TempTree t;
  uint64_t web_cgroup = 0, web_inner = 0, db_cgroup = 0, host_cgroup = 0;
  DirectoryPaths paths;
  FakeHost() {
    write_state(t);
    web_cgroup = t.mkdir("cgroup/machine.slice/libpod-" + kId + ".scope");
    web_inner = t.mkdir("cgroup/machine.slice/libpod-" + kId + ".scope/container");
    t.mkdir("cgroup/machine.slice/libpod-conmon-" + kId + ".scope");
    db_cgroup = t.mkdir("cgroup/system.slice/docker-" + kDocker + ".scope");
    host_cgroup = t.mkdir("cgroup/system.slice/ssh.service");
    t.write("proc/100/cgroup", "0::/machine.slice/libpod-" + kId + ".scope/container\n");
    t.write("proc/200/cgroup", "0::/system.slice/ssh.service\n");
    t.write("proc/300/cgroup", "0::/machine.slice/libpod-conmon-" + kId + ".scope\n");
    paths.proc = (t / "proc").string();
    paths.cgroup_root = (t / "cgroup").string();
    paths.state.root = (t / "state").string();
  }
};

TEST(ContainerDirectory, NamesProcessesAndCgroups) {
  FakeHost host;
  ContainerDirectory dir(host.paths);
  const output::ContainerLabel* web = dir.of_pid(100);
  ASSERT_TRUE(web);
  EXPECT_EQ(web->id, kId);
  EXPECT_EQ(web->name, "web");
  ASSERT_TRUE(dir.of_pid(200));
  EXPECT_EQ(dir.of_pid(200)->id, "");  // the host
  EXPECT_EQ(dir.of_pid(300)->id, "");  // conmon is not the container
  EXPECT_EQ(dir.of_pid(0)->id, "");    // the idle task
  EXPECT_EQ(dir.of_pid(999), nullptr);  // gone: unknown
  // cached at first sight: the process may exit before its row prints
  fs::remove_all(host.t / "proc/100");
  EXPECT_EQ(dir.of_pid(100), web);

  EXPECT_EQ(dir.of_cgroup(host.web_inner), web);
  EXPECT_EQ(dir.of_cgroup(host.web_cgroup), web);
  ASSERT_TRUE(dir.of_cgroup(host.db_cgroup));
  EXPECT_EQ(dir.of_cgroup(host.db_cgroup)->name, "db");
  EXPECT_EQ(dir.of_cgroup(host.host_cgroup)->id, "");
  EXPECT_EQ(dir.of_cgroup(1234567890123ull), nullptr);
  EXPECT_GE(dir.name_width(), 14);
}

TEST(ContainerDirectory, FindsARunningContainerByNameIdOrPrefix) {
  FakeHost host;
  ContainerDirectory dir(host.paths);
  FoundContainer found = dir.find("web");
  EXPECT_EQ(found.id, kId);
  EXPECT_EQ(found.cgroup_dir, host.paths.cgroup_root + "/machine.slice/libpod-" + kId + ".scope");
  EXPECT_EQ(found.cgroup_id, host.web_cgroup);
  EXPECT_EQ(dir.find(kId.substr(0, 5)).id, kId);
  EXPECT_EQ(dir.find(kId).name, "web");
  EXPECT_EQ(dir.find("db").runtime, Runtime::Docker);
}

TEST(ContainerDirectory, RefusesUnknownAmbiguousAndStopped) {
  FakeHost host;
  ContainerDirectory dir(host.paths);
  try {
    dir.find("nosuch");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "no container 'nosuch' (podman, docker, CRI-O, containerd looked at)");
  }
  EXPECT_THROW(dir.find(""), Error);
  try {
    dir.find("stopped");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is not running"), std::string::npos) << e.what();
  }
  try {
    dir.find("nginx");  // a Kubernetes container by its name alone (its pod: web-1)
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "container 'web-1/nginx' (c0de00000000, containerd) is not running");
  }
  try {
    dir.find("c");  // kContainerd and kCrio, neither running: both named
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("names several containers"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ecli::containers

namespace ecli::output {
namespace {

// struct event { __u32 pid; __u64 cgroup_id; char comm[8]; }
btf::RenderPlan event_plan(bool with_cgroup) {
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  int u32 = btf__add_int(b.get(), "unsigned int", 4, 0);
  int u64 = btf__add_int(b.get(), "unsigned long long", 8, 0);
  int chr = btf__add_int(b.get(), "char", 1, BTF_INT_SIGNED);
  int comm = btf__add_array(b.get(), u32, chr, 8);
  int root = btf__add_struct(b.get(), "event", 24);
  btf__add_field(b.get(), "pid", u32, 0, 0);
  btf__add_field(b.get(), with_cgroup ? "cgroup_id" : "other", u64, 64, 0);
  btf__add_field(b.get(), "comm", comm, 128, 0);
  return btf::build_render_plan(b.get(), root);
}

struct Event {
  uint32_t pid;
  uint32_t pad = 0;
  uint64_t cgroup_id;
  char comm[8];
};

class FakeSource : public ContainerSource {
 public:
  ContainerLabel host, web{"7d73b6c1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d", "web"};
  int pid_lookups = 0, cgroup_lookups = 0;
  const ContainerLabel* of_pid(uint32_t pid) override {
    pid_lookups++;
    return pid == 100 || pid == 101 ? &web : pid == 200 ? &host : nullptr;
  }
  const ContainerLabel* of_cgroup(uint64_t id) override {
    cgroup_lookups++;
    return id == 7 ? &web : id == 1 ? &host : nullptr;
  }
  int name_width() const override { return 14; }
};

std::string rows(EventWriter& writer, std::initializer_list<Event> events) {
  Buffer out;
  writer.header(out);
  for (const auto& e : events) writer.row(out, "12:00:00", 0, reinterpret_cast<const uint8_t*>(&e), sizeof e);
  return std::string(out.data(), out.size());
}

std::vector<StreamFormat> streams(bool with_cgroup) {
  std::vector<StreamFormat> s(1);
  s[0].name = "events";
  s[0].plan = event_plan(with_cgroup);
  choose_columns(s, {});
  return s;
}

TEST(ContainerColumns, FindsPidAndCgroupFields) {
  ContainerKey key = find_container_key(event_plan(true));
  EXPECT_EQ(key.pid_offset, 0);
  EXPECT_EQ(key.pid_size, 4);
  EXPECT_EQ(key.cgroup_offset, 8);
  EXPECT_FALSE(find_container_key(event_plan(false)).cgroup_offset >= 0);
  btf::RenderPlan none;
  EXPECT_FALSE(find_container_key(none).any());
}

TEST(ContainerColumns, TableRowsCarryShortIdAndName) {
  FakeSource source;
  EventWriter writer(Format::Table, streams(false));
  writer.set_containers(&source, true, "");
  std::string text = rows(writer, {{100, 0, 0, "sh"}, {200, 0, 0, "sshd"}, {999, 0, 0, "gone"}});
  EXPECT_NE(text.find("TIME     CONTAINER_ID CONTAINER_NAME PID"), std::string::npos) << text;
  EXPECT_NE(text.find("12:00:00 7d73b6c1e2f3 web            100"), std::string::npos) << text;
  EXPECT_NE(text.find("12:00:00 -            -              200"), std::string::npos) << text;
  EXPECT_NE(text.find("12:00:00 -            -              999"), std::string::npos) << text;
}

TEST(ContainerColumns, JsonHasFullIdHostEmptyUnknownNull) {
  FakeSource source;
  EventWriter writer(Format::Json, streams(true));
  writer.set_containers(&source, true, "");
  auto lines = rows(writer, {{100, 0, 7, "sh"}, {200, 0, 1, "sshd"}, {999, 0, 55, "gone"}});
  std::vector<nlohmann::json> parsed;
  for (size_t at = 0; at < lines.size();) {
    size_t nl = lines.find('\n', at);
    parsed.push_back(nlohmann::json::parse(lines.substr(at, nl - at)));
    at = nl + 1;
  }
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_EQ(parsed[0]["container_id"], source.web.id);
  EXPECT_EQ(parsed[0]["container_name"], "web");
  EXPECT_EQ(parsed[1]["container_id"], "");
  EXPECT_TRUE(parsed[2]["container_id"].is_null());
  EXPECT_EQ(parsed[0]["pid"], 100);
  // the cgroup id decides first; the pid only when the cgroup is unknown
  EXPECT_EQ(source.cgroup_lookups, 3);
  EXPECT_EQ(source.pid_lookups, 1);
}

TEST(ContainerColumns, CsvHeaderAndCells) {
  FakeSource source;
  EventWriter writer(Format::Csv, streams(false));
  writer.set_containers(&source, true, "");
  EXPECT_EQ(rows(writer, {{100, 0, 0, "sh"}, {200, 0, 0, "x"}}),
            "time,container_id,container_name,pid,other,comm\n"
            "12:00:00," + source.web.id + ",web,100,0,sh\n"
            "12:00:00,-,-,200,0,x\n");
}

TEST(ContainerColumns, FilterDropsOtherContainersRows) {
  FakeSource source;
  EventWriter writer(Format::Csv, streams(false));
  writer.set_containers(&source, false, source.web.id);
  Event web{100, 0, 0, "sh"}, other{200, 0, 0, "x"};
  EXPECT_TRUE(writer.keeps(0, reinterpret_cast<const uint8_t*>(&web), sizeof web));
  EXPECT_FALSE(writer.keeps(0, reinterpret_cast<const uint8_t*>(&other), sizeof other));
  EXPECT_EQ(rows(writer, {web, other, {999, 0, 0, "gone"}}), "time,pid,other,comm\n12:00:00,100,0,sh\n");
}

// A table keyed by process: the filter goes before --top, so the top rows are the container's.
TEST(ContainerColumns, TableRowsAreFilteredBeforeTheTop) {
  std::unique_ptr<struct btf, decltype(&btf__free)> b(btf__new_empty(), btf__free);
  int s32 = btf__add_int(b.get(), "int", 4, BTF_INT_SIGNED);
  int u64 = btf__add_int(b.get(), "unsigned long long", 8, 0);
  int key = btf__add_struct(b.get(), "process", 4);
  btf__add_field(b.get(), "pid", s32, 0, 0);
  int value = btf__add_struct(b.get(), "counts", 8);
  btf__add_field(b.get(), "calls", u64, 0, 0);
  FakeSource source;
  SnapshotWriter writer("syscalls",
                        package::parse_sample_spec(nlohmann::json::parse(R"({"type": "default_kv", "sort_by": "calls", "limit": 1})")),
                        btf::build_render_plan(b.get(), key), btf::build_render_plan(b.get(), value), Format::Csv);
  writer.set_containers(&source, true, source.web.id);
  EXPECT_TRUE(writer.knows_containers());
  int32_t pids[] = {200, 100, 101};
  uint64_t calls[] = {50, 5, 20};
  std::vector<SnapshotEntry> entries;
  for (int i = 0; i < 3; i++)
    entries.push_back({reinterpret_cast<const uint8_t*>(&pids[i]), reinterpret_cast<const uint8_t*>(&calls[i])});
  Buffer out;
  writer.write(out, "10:00:00", entries);
  EXPECT_EQ(std::string(out.data(), out.size()),
            "time,container_id,container_name,pid,calls\n10:00:00," + source.web.id + ",web,101,20\n");
}

TEST(ContainerColumns, NothingIsLookedUpWithoutContainers) {
  FakeSource source;
  EventWriter writer(Format::Csv, streams(true));
  EXPECT_EQ(rows(writer, {{100, 0, 7, "sh"}}), "time,pid,cgroup_id,comm\n12:00:00,100,7,sh\n");
  EXPECT_EQ(source.pid_lookups + source.cgroup_lookups, 0);
}

}  // namespace
}  // namespace ecli::output
