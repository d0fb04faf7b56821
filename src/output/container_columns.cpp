#include "output/container_columns.hpp"

#include <cstring>

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;

const FieldPlan* integer_field(const btf::RenderPlan& plan, std::initializer_list<const char*> names,
                               std::initializer_list<uint32_t> sizes) {
  for (const char* name : names)
    for (const auto& f : plan.fields) {
      if (f.name != name || f.bit_size) continue;
      if (f.kind != FieldKind::Signed && f.kind != FieldKind::Unsigned) continue;
      for (uint32_t size : sizes)
        if (f.size == size) return &f;
    }
  return nullptr;
}

uint64_t load(const uint8_t* row, int32_t offset, uint8_t size) {
  uint64_t value = 0;
  std::memcpy(&value, row + offset, size);  // little-endian host
  return value;
}

}  // namespace

ContainerKey find_container_key(const btf::RenderPlan& plan) {
  ContainerKey key;
  if (const FieldPlan* f = integer_field(plan, {"tgid", "pid", "tid"}, {4, 8})) {
    key.pid_offset = static_cast<int32_t>(f->offset);
    key.pid_size = static_cast<uint8_t>(f->size);
  } else if (const FieldPlan* f = integer_field(plan, {"pid_tgid"}, {8})) {
    key.pid_offset = static_cast<int32_t>(f->offset);
    key.pid_size = 8;
    key.pid_shift = 32;
  }
  if (const FieldPlan* f = integer_field(plan, {"cgroup_id", "cgroupid", "cgid", "cgroup", "cg_id", "cgrp_id"}, {8})) {
    key.cgroup_offset = static_cast<int32_t>(f->offset);
    key.cgroup_size = 8;
  }
  return key;
}

const ContainerLabel* container_of_row(ContainerSource& source, const ContainerKey& key, const uint8_t* row,
                                       size_t size) {
  const ContainerLabel* label = nullptr;
  if (key.cgroup_offset >= 0 && static_cast<size_t>(key.cgroup_offset) + key.cgroup_size <= size) {
    uint64_t id = load(row, key.cgroup_offset, key.cgroup_size);
    if (id) label = source.of_cgroup(id);
  }
  if (!label && key.pid_offset >= 0 && static_cast<size_t>(key.pid_offset) + key.pid_size <= size) {
    uint64_t pid = load(row, key.pid_offset, key.pid_size) >> key.pid_shift;
    if (pid <= UINT32_MAX) label = source.of_pid(static_cast<uint32_t>(pid));
  }
  return label;
}

}  // namespace ecli::output
