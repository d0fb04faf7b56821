#pragma once
// Container columns of rows (issue 11, --containers / --container): which
// field of a row says the process (tgid, pid, tid, pid_tgid) or the cgroup
// (cgroup_id, cgid...), found once per plan, and the interface through which
// the runtime names the container of a process or cgroup. The printers call
// it only when containers were asked for, so other runs pay nothing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "btf/render_plan.hpp"

namespace ecli::output {

struct ContainerLabel {
  std::string id;    // 64 hex digits; empty: the host (no container)
  std::string name;  // empty when the runtime's state does not say
};

class ContainerSource {
 public:
  virtual ~ContainerSource() = default;
  // The container of a process or of a cgroup v2 id; a label with an empty id
  // for the host (and pid 0, the idle task); null when it cannot be known
  // (the process is gone). The
  // pointers stay valid for the source's lifetime.
  virtual const ContainerLabel* of_pid(uint32_t pid) = 0;
  virtual const ContainerLabel* of_cgroup(uint64_t cgroup_id) = 0;
  // Width of the name column in tables.
  virtual int name_width() const { return 16; }
};

// Where a row says whose it is; offsets in bytes from the row's start.
struct ContainerKey {
  int32_t pid_offset = -1;
  uint8_t pid_size = 0;
  uint8_t pid_shift = 0;  // pid_tgid: the tgid is the upper half
  int32_t cgroup_offset = -1;
  uint8_t cgroup_size = 0;
  bool any() const { return pid_offset >= 0 || cgroup_offset >= 0; }
};

// The first of tgid, pid, tid, pid_tgid and of cgroup_id, cgroupid, cgid,
// cgroup, cg_id among the plan's top-level integer fields.
ContainerKey find_container_key(const btf::RenderPlan& plan);

// The row's container: by its cgroup id when it has one (exact even after the
// process exits), else (or when that id is unknown) by its process.
const ContainerLabel* container_of_row(ContainerSource& source, const ContainerKey& key, const uint8_t* row,
                                       size_t size);

// docker ps shows ids cut to 12 digits; tables do the same.
constexpr size_t kShortIdLength = 12;

}  // namespace ecli::output
