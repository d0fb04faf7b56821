#include "containers/directory.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "util/error.hpp"

namespace ecli::containers {
namespace {

namespace fs = std::filesystem;
using output::ContainerLabel;

constexpr auto kWalkInterval = std::chrono::seconds(1);
constexpr size_t kMaxCachedPids = 1 << 16;

// /proc files are read with one read(): no iostreams on the event path.
std::string read_proc_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text(4096, '\0');
  size_t used = 0;
  for (;;) {
    ssize_t n = read(fd, text.data() + used, text.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    used += static_cast<size_t>(n);
    if (used == text.size()) text.resize(text.size() * 2);
  }
  close(fd);
  text.resize(used);
  return text;
}

}  // namespace

std::string cgroup2_root() {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs info {};
    if (statfs(path, &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC) return path;
  }
  return {};
}

ContainerDirectory::ContainerDirectory(DirectoryPaths paths) : paths_(std::move(paths)) {
  if (paths_.cgroup_root.empty()) paths_.cgroup_root = cgroup2_root();
}

void ContainerDirectory::reload_podman_state() {
  struct stat info {};
  if (stat(paths_.state.podman_containers().c_str(), &info) != 0) return;
  if (podman_read_ && info.st_mtim.tv_sec == podman_mtime_.tv_sec && info.st_mtim.tv_nsec == podman_mtime_.tv_nsec)
    return;
  podman_mtime_ = info.st_mtim;
  podman_read_ = true;
  podman_ = read_all_containers(StatePaths{paths_.state});
  std::erase_if(podman_, [](const ContainerRecord& r) { return r.runtime != Runtime::Podman; });
}

const ContainerLabel* ContainerDirectory::label_of(const CgroupContainer& container) {
  auto& slot = by_id_[container.id];
  if (!slot) {
    slot = std::make_unique<ContainerLabel>();
    slot->id = container.id;
    if (container.runtime == Runtime::Podman || container.runtime == Runtime::Unknown) reload_podman_state();
    slot->name = read_container_name(paths_.state, container.id, container.runtime, podman_);
  }
  return slot.get();
}

const ContainerLabel* ContainerDirectory::of_cgroup_path(const std::string& path) {
  auto container = container_of_cgroup(path);
  return container ? label_of(*container) : &host_;
}

const ContainerLabel* ContainerDirectory::of_pid(uint32_t pid) {
  if (pid == 0) return &host_;  // the idle task
  if (auto it = by_pid_.find(pid); it != by_pid_.end()) return it->second;
  std::string text = read_proc_file(fmt::format("{}/{}/cgroup", paths_.proc, pid));
  if (text.empty()) return nullptr;  // gone before we looked: unknown, and asked again next time
  if (by_pid_.size() >= kMaxCachedPids) by_pid_.clear();
  const ContainerLabel* label = of_cgroup_path(cgroup_of_proc(text));
  by_pid_.emplace(pid, label);
  return label;
}

void ContainerDirectory::walk_cgroups() {
  last_walk_ = std::chrono::steady_clock::now();
  walked_ = true;
  cgroup_paths_.clear();
  if (paths_.cgroup_root.empty()) return;
  std::error_code ec;
  auto add = [&](const fs::path& dir, std::string relative) {
    struct stat info {};
    if (stat(dir.c_str(), &info) == 0) cgroup_paths_[info.st_ino] = std::move(relative);
  };
  add(paths_.cgroup_root, "/");
  fs::recursive_directory_iterator it(paths_.cgroup_root, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    add(it->path(), "/" + fs::relative(it->path(), paths_.cgroup_root, ec).string());
  }
}

const ContainerLabel* ContainerDirectory::of_cgroup(uint64_t cgroup_id) {
  if (auto it = by_cgroup_.find(cgroup_id); it != by_cgroup_.end()) return it->second;
  auto path = cgroup_paths_.find(cgroup_id);
  if (path == cgroup_paths_.end() && (!walked_ || std::chrono::steady_clock::now() - last_walk_ > kWalkInterval)) {
    walk_cgroups();  // a cgroup made since the last walk
    path = cgroup_paths_.find(cgroup_id);
  }
  if (path == cgroup_paths_.end()) return nullptr;  // removed already, or not ours: unknown
  const ContainerLabel* label = of_cgroup_path(path->second);
  by_cgroup_.emplace(cgroup_id, label);
  return label;
}

int ContainerDirectory::name_width() const {
  if (name_width_ < 0) {
    size_t longest = 0;
    for (const auto& r : read_all_containers(paths_.state)) longest = std::max(longest, r.name.size());
    name_width_ = static_cast<int>(std::clamp<size_t>(longest, 14, 40));
  }
  return name_width_;
}

FoundContainer ContainerDirectory::find(const std::string& wanted) {
  std::vector<ContainerRecord> records = read_all_containers(paths_.state);
  // Running containers: the top-most cgroup of each ("libpod-<id>.scope", not its "container").
  walk_cgroups();
  std::unordered_map<std::string, std::pair<std::string, uint64_t>> running;  // id -> (cgroup path, cgroup id)
  std::unordered_map<std::string, Runtime> runtimes;
  for (const auto& [ino, path] : cgroup_paths_) {
    auto c = container_of_cgroup(path);
    if (!c) continue;
    auto [it, added] = running.try_emplace(c->id, path, ino);
    if (!added && path.size() < it->second.first.size()) it->second = {path, ino};
    runtimes.try_emplace(c->id, c->runtime);
  }
  for (const auto& [id, where] : running) {
    bool known = std::any_of(records.begin(), records.end(), [&](const auto& r) { return r.id == id; });
    if (!known) records.push_back({id, read_container_name(paths_.state, id, runtimes[id], records), runtimes[id]});
  }

  std::vector<const ContainerRecord*> matches;
  for (const auto& r : records)
    if (!wanted.empty() && (r.name == wanted || r.id == wanted)) matches.push_back(&r);
  // Kubernetes names are "pod/container": the container's name alone names it too.
  if (matches.empty())
    for (const auto& r : records)
      if (!wanted.empty() && r.name.ends_with("/" + wanted)) matches.push_back(&r);
  if (matches.empty() && is_container_id(std::string(64 - std::min<size_t>(wanted.size(), 64), '0') + wanted))
    for (const auto& r : records)
      if (r.id.starts_with(wanted)) matches.push_back(&r);
  // A name or prefix that a stopped container also has: the running one is meant.
  if (matches.size() > 1) {
    std::vector<const ContainerRecord*> up;
    for (const auto* m : matches)
      if (running.count(m->id)) up.push_back(m);
    if (!up.empty()) matches = up;
  }
  if (matches.empty())
    throw Error(fmt::format("no container '{}' (podman, docker, CRI-O, containerd looked at)", wanted));
  if (matches.size() > 1) {
    std::string list;
    for (const auto* m : matches)
      list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", m->id.substr(0, output::kShortIdLength),
                          m->name.empty() ? "no name" : m->name);
    throw Error(fmt::format("--container '{}' names several containers: {}; give more of the id", wanted, list));
  }
  const ContainerRecord& r = *matches.front();
  auto where = running.find(r.id);
  if (where == running.end() && paths_.cgroup_root.empty())
    throw Error(fmt::format("container '{}': no cgroup v2 hierarchy is mounted (at /sys/fs/cgroup or "
                            "/sys/fs/cgroup/unified), so its cgroup cannot be found",
                            wanted));
  if (where == running.end())
    throw Error(fmt::format("container '{}' ({}, {}) is not running", r.name.empty() ? wanted : r.name,
                            r.id.substr(0, output::kShortIdLength), runtime_name(r.runtime)));
  return {r.id, r.name, r.runtime, paths_.cgroup_root + where->second.first, where->second.second};
}

}  // namespace ecli::containers
