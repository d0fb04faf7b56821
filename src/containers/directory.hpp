#pragma once
// The containers of this host as a run sees them (issue 11): the container of
// a process (from /proc/PID/cgroup) or of a cgroup v2 id (the inode number of
// its directory), its name from the runtime's state, and `--container
// NAME|ID` resolved to the container's cgroup. Everything is cached: a pid at
// first sight (so a process that exits before its row prints still has its
// container), the cgroup tree walked once and again on a miss (at most once
// a second), podman's state read again only when the file changed.
#include <sys/types.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "containers/cgroup_path.hpp"
#include "containers/runtime_state.hpp"
#include "output/container_columns.hpp"

namespace ecli::containers {

struct DirectoryPaths {
  std::string proc = "/proc";
  std::string cgroup_root;  // the cgroup v2 hierarchy; empty: found at /sys/fs/cgroup(/unified)
  StatePaths state;
};

// A container that --container named.
struct FoundContainer {
  std::string id;
  std::string name;
  Runtime runtime = Runtime::Unknown;
  std::string cgroup_dir;  // absolute path of its cgroup v2 directory
  uint64_t cgroup_id = 0;
};

class ContainerDirectory : public output::ContainerSource {
 public:
  explicit ContainerDirectory(DirectoryPaths paths = {});

  const output::ContainerLabel* of_pid(uint32_t pid) override;
  const output::ContainerLabel* of_cgroup(uint64_t cgroup_id) override;
  int name_width() const override;

  // A running container by name, full id or id prefix (as docker takes them);
  // a Kubernetes container also by its name without the pod's.
  // Throws ecli::Error when there is none ("no container 'x' (podman, docker,
  // CRI-O, containerd looked at)"), when a prefix names several, or when the
  // container is not running.
  FoundContainer find(const std::string& wanted);

  // The cgroup of a path, as container_of_cgroup says, with its name.
  const output::ContainerLabel* of_cgroup_path(const std::string& path);

 private:
  void walk_cgroups();
  void reload_podman_state();
  const output::ContainerLabel* label_of(const CgroupContainer& container);

  DirectoryPaths paths_;
  output::ContainerLabel host_;
  std::unordered_map<std::string, std::unique_ptr<output::ContainerLabel>> by_id_;
  std::unordered_map<uint32_t, const output::ContainerLabel*> by_pid_;
  std::unordered_map<uint64_t, const output::ContainerLabel*> by_cgroup_;
  std::unordered_map<uint64_t, std::string> cgroup_paths_;  // from the last walk
  std::chrono::steady_clock::time_point last_walk_{};
  bool walked_ = false;
  std::vector<ContainerRecord> podman_;
  timespec podman_mtime_{};
  bool podman_read_ = false;
  mutable int name_width_ = -1;
};

// The cgroup v2 hierarchy's mount point: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified on hybrid hosts; empty when neither is one.
std::string cgroup2_root();

}  // namespace ecli::containers
