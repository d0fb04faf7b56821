#include "runtime/container_filter.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "util/error.hpp"

namespace ecli::runtime {

std::optional<KernelCgroupFilter> find_kernel_cgroup_filter(
    struct bpf_object* object, const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals) {
  std::optional<btf::GlobalVariable> flag;
  for (const char* name : {"filter_cg", "filter_cgroup", "cgroup_filter"})
    for (const auto& [var, type] : globals)
      if (!flag && var.name == name && var.size <= 8 &&
          (type.kind == btf::ValueKind::Bool || type.kind == btf::ValueKind::Integer))
        flag = var;
  if (!flag) return std::nullopt;
  std::vector<std::string> arrays;
  struct bpf_map* map;
  bpf_object__for_each_map(map, object) {
    if (bpf_map__type(map) != BPF_MAP_TYPE_CGROUP_ARRAY) continue;
    if (std::strcmp(bpf_map__name(map), "cgroup_map") == 0) return KernelCgroupFilter{*flag, "cgroup_map"};
    arrays.push_back(bpf_map__name(map));
  }
  if (arrays.size() != 1) return std::nullopt;
  return KernelCgroupFilter{*flag, arrays.front()};
}

GlobalSetting enable_setting(const KernelCgroupFilter& filter) {
  std::string bytes(filter.flag.size, '\0');
  bytes[0] = 1;  // true, or 1 for an integer flag (little-endian host)
  return {filter.flag, bytes};
}

void fill_cgroup_filter(struct bpf_object* object, const KernelCgroupFilter& filter, const std::string& cgroup_dir) {
  struct bpf_map* map = bpf_object__find_map_by_name(object, filter.map.c_str());
  if (!map) throw Error(fmt::format("--container: the program has no map '{}'", filter.map));
  int cgroup_fd = open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cgroup_fd < 0)
    throw Error(fmt::format("--container: cannot open the container's cgroup {}: {}", cgroup_dir, std::strerror(errno)));
  uint32_t slot = 0;
  int err = bpf_map_update_elem(bpf_map__fd(map), &slot, &cgroup_fd, BPF_ANY);
  int saved = errno;
  close(cgroup_fd);  // the map holds its own reference
  if (err)
    throw Error(fmt::format("--container: cannot put the cgroup {} into map '{}': {}", cgroup_dir, filter.map,
                            std::strerror(saved)));
}

}  // namespace ecli::runtime
