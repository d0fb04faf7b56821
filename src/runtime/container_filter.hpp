#pragma once
// --container in the kernel (issue 11): a program written in the libbpf-tools
// style, with `const volatile bool filter_cg` and a BPF_MAP_TYPE_CGROUP_ARRAY
// (`cgroup_map`) that bpf_current_task_under_cgroup() checks, is limited to
// the container's cgroup before anything runs: filter_cg is set before
// loading, and the cgroup's directory goes into the map's slot 0 after.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "btf/object_meta.hpp"
#include "btf/value_type.hpp"
#include "runtime/options.hpp"

struct bpf_object;

namespace ecli::runtime {

struct KernelCgroupFilter {
  btf::GlobalVariable flag;  // filter_cg
  std::string map;           // the cgroup array
};

// The program's cgroup filter, when it has one: a bool (or integer) global
// filter_cg / filter_cgroup / cgroup_filter and a cgroup array map
// (cgroup_map, else the only one).
std::optional<KernelCgroupFilter> find_kernel_cgroup_filter(
    struct bpf_object* object, const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals);

// Before loading: the setting that turns the filter on.
GlobalSetting enable_setting(const KernelCgroupFilter& filter);

// After loading: puts the cgroup v2 directory `cgroup_dir` into the map's
// slot 0. Throws ecli::Error saying what failed.
void fill_cgroup_filter(struct bpf_object* object, const KernelCgroupFilter& filter, const std::string& cgroup_dir);

}  // namespace ecli::runtime
