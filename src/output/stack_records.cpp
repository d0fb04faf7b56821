#include "output/stack_records.hpp"

#include <algorithm>

#include "output/event_format.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;

const FieldPlan* find_field(const btf::RenderPlan& plan, const std::string& name) {
  for (const auto& f : plan.fields)
    if (f.name == name) return &f;
  return nullptr;
}

bool is_integer(const FieldPlan& f) {
  return (f.kind == FieldKind::Signed || f.kind == FieldKind::Unsigned) && f.size <= 8;
}

}  // namespace

bool has_stack_fields(const btf::RenderPlan& plan) {
  return std::any_of(plan.fields.begin(), plan.fields.end(), [](const FieldPlan& f) { return f.stack >= 0; });
}

void bind_stack_fields(btf::RenderPlan& plan, const std::vector<std::string>& size_fields) {
  const FieldPlan* pid = find_field(plan, "tgid");
  if (!pid || !is_integer(*pid)) pid = find_field(plan, "pid");
  for (auto& f : plan.fields) {
    if (f.stack < 0) continue;
    if (pid && is_integer(*pid)) {
      f.stack_pid_offset = static_cast<int32_t>(pid->offset);
      f.stack_pid_size = static_cast<uint8_t>(pid->size);
    }
    if (f.kind != FieldKind::Array || f.stack_bytes_offset >= 0) continue;
    std::vector<std::string> names = size_fields;
    names.push_back(f.name + "_sz");
    names.push_back(f.name + "_size");
    names.push_back(f.name + "_len");
    for (const auto& name : names) {
      const FieldPlan* bytes = name.empty() ? nullptr : find_field(plan, name);
      if (!bytes || !is_integer(*bytes) || bytes->bit_size) continue;
      f.stack_bytes_offset = static_cast<int32_t>(bytes->offset);
      f.stack_bytes_size = static_cast<uint8_t>(bytes->size);
      break;
    }
  }
}

StackFolder::StackFolder(const btf::RenderPlan& plan, int count_field) : plan_(plan), count_field_(count_field) {
  for (size_t i = 0; i < plan.fields.size(); i++) {
    const FieldPlan& f = plan.fields[i];
    if (f.stack >= 0) (f.stack_user ? user_ : kernel_).push_back(i);
    if (comm_field_ < 0 && f.kind == FieldKind::String && (f.name == "comm" || f.name == "task" || f.name == "name"))
      comm_field_ = static_cast<int>(i);
  }
}

int StackFolder::count_field_of(const btf::RenderPlan& plan, uint32_t value_offset) {
  for (size_t i = 0; i < plan.fields.size(); i++)
    if (plan.fields[i].offset >= value_offset && is_integer(plan.fields[i]) && plan.fields[i].stack < 0)
      return static_cast<int>(i);
  return -1;
}

void StackFolder::add(FoldedStacks& out, StackSource& source, const uint8_t* record, size_t size) const {
  std::string_view comm;
  if (comm_field_ >= 0) {
    const FieldPlan& f = plan_.fields[comm_field_];
    if (f.offset + f.size <= size) {
      const char* p = reinterpret_cast<const char*>(record + f.offset);
      comm = std::string_view(p, std::find(p, p + f.size, '\0') - p);
    }
  }
  uint64_t count = 1;
  if (count_field_ >= 0) {
    const FieldPlan& f = plan_.fields[count_field_];
    if (f.name != "value" && f.name != "count" && f.name != "counts") out.set_unit(f.name);
    if (f.offset + f.size > size) return;
    count = load_unsigned(f, record + f.offset);
    if (count == 0) return;
  }
  // Resolved stacks live in the source until its next call: copy them, so
  // that a record with a user and a kernel stack keeps both.
  held_.resize(user_.size() + kernel_.size());
  size_t n = 0;
  for (size_t i : user_) held_[n++] = source.stack_of(plan_.fields[i], record, size);
  for (size_t i : kernel_) held_[n++] = source.stack_of(plan_.fields[i], record, size);
  order_.clear();
  for (const auto& s : held_)
    if (!s.frames.empty() || !s.lost.empty()) order_.push_back(&s);
  out.add(comm, order_, count);
}

}  // namespace ecli::output
