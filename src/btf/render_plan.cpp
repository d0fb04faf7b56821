#include "btf/render_plan.hpp"

#include <bpf/btf.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "btf/type_names.hpp"
#include "util/error.hpp"

namespace ecli::btf {
namespace {

// Arrays of these print as text; __u8/u8 arrays stay numbers (addresses, hashes).
bool is_char_name(const std::string& name) {
  return name == "char" || name == "signed char" || name == "unsigned char";
}

// The element type of an array as written, through const/volatile but not typedefs.
std::string written_name(const struct ::btf* btf, uint32_t id) {
  for (int guard = 0; guard < 16; guard++) {
    const btf_type* t = btf__type_by_id(btf, id);
    if (!t) return {};
    int kind = btf_kind(t);
    if (kind == BTF_KIND_CONST || kind == BTF_KIND_VOLATILE || kind == BTF_KIND_RESTRICT) {
      id = t->type;
      continue;
    }
    const char* name = btf__name_by_offset(btf, t->name_off);
    return name ? name : "";
  }
  return {};
}

// Nested structs may repeat a type many times over: a struct of two members
// of a struct of two members, 32 deep, is 2^32 fields (found by
// fuzz_render_plan: minutes per plan). Real types expand to a few thousand.
constexpr size_t kMaxPlanFields = 1 << 16;

struct PlanBudget {
  size_t fields = 0;
};

void plan_type(const struct ::btf* btf, uint32_t type_id, FieldPlan& field, int depth, PlanBudget& budget);

void plan_members(const struct ::btf* btf, const btf_type* t, FieldPlan& field, int depth, PlanBudget& budget) {
  const struct btf_member* m = btf_members(t);
  for (uint16_t i = 0; i < btf_vlen(t); i++) {
    FieldPlan member;
    const char* name = btf__name_by_offset(btf, m[i].name_off);
    member.name = name && *name ? name : "_" + std::to_string(i);
    uint32_t bit_offset = btf_member_bit_offset(t, i);
    uint32_t bitfield = btf_member_bitfield_size(t, i);
    try {
      plan_type(btf, m[i].type, member, depth + 1, budget);
    } catch (const std::exception&) {
      member = FieldPlan{};  // printed as a placeholder
      member.name = name && *name ? name : "_" + std::to_string(i);
      member.c_type = "?";
      bitfield = 0;
    }
    member.offset = bit_offset / 8;  // relative to the enclosing struct
    if (bitfield) {
      member.bit_offset = static_cast<uint16_t>(bit_offset % 8);
      member.bit_size = static_cast<uint16_t>(bitfield);
      member.size = (member.bit_offset + bitfield + 7) / 8;
    }
    field.members.push_back(std::move(member));
  }
}

void plan_type(const struct ::btf* btf, uint32_t type_id, FieldPlan& field, int depth, PlanBudget& budget) {
  if (++budget.fields > kMaxPlanFields) throw Error("more fields than ecli prints");
  field.c_type = c_type_name(btf, type_id);
  uint32_t id = resolve_type(btf, type_id);
  const btf_type* t = btf__type_by_id(btf, id);
  if (!t || depth > 32) return;
  switch (btf_kind(t)) {
    case BTF_KIND_INT: {
      uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
      uint32_t encoding = BTF_INT_ENCODING(info);
      field.size = t->size;
      if (t->size == 16) {
        field.kind = (encoding & BTF_INT_SIGNED) ? FieldKind::Signed128 : FieldKind::Unsigned128;
        return;
      }
      if (t->size > 8 || t->size == 0) return;  // no such C integer: Unknown, shown as hex
      if (encoding & BTF_INT_BOOL)
        field.kind = FieldKind::Bool;
      else if (t->size == 1 && ((encoding & BTF_INT_CHAR) || written_name(btf, type_id) == "char"))
        field.kind = FieldKind::Char;
      else
        field.kind = (encoding & BTF_INT_SIGNED) ? FieldKind::Signed : FieldKind::Unsigned;
      return;
    }
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64: {
      field.kind = FieldKind::Enum;
      field.size = t->size;
      bool is_signed = btf_kflag(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++) {
        int64_t value;
        const char* name;
        if (btf_kind(t) == BTF_KIND_ENUM) {
          const struct btf_enum* e = btf_enum(t) + i;
          value = is_signed ? int64_t(e->val) : int64_t(uint32_t(e->val));
          name = btf__name_by_offset(btf, e->name_off);
        } else {
          const struct btf_enum64* e = btf_enum64(t) + i;
          value = int64_t(btf_enum64_value(e));
          name = btf__name_by_offset(btf, e->name_off);
        }
        field.enumerators.emplace_back(value, name ? name : "");
      }
      std::sort(field.enumerators.begin(), field.enumerators.end());
      return;
    }
    case BTF_KIND_PTR:
      field.kind = FieldKind::Pointer;
      field.size = 8;
      return;
    case BTF_KIND_FLOAT:
      field.size = t->size;
      if (t->size == 4 || t->size == 8) field.kind = FieldKind::Float;
      return;
    case BTF_KIND_STRUCT:
    case BTF_KIND_UNION:
      field.kind = FieldKind::Struct;
      field.size = t->size;
      plan_members(btf, t, field, depth, budget);
      return;
    case BTF_KIND_ARRAY: {
      const struct btf_array* arr = btf_array(t);
      field.count = arr->nelems;
      auto element = std::make_shared<FieldPlan>();
      plan_type(btf, arr->type, *element, depth + 1, budget);
      if (element->kind == FieldKind::Char && is_char_name(written_name(btf, arr->type))) {
        field.kind = FieldKind::String;
        field.size = arr->nelems;
        return;
      }
      uint64_t size = uint64_t(element->size) * arr->nelems;
      if (size > UINT32_MAX) return;  // malformed: Unknown of size 0, a placeholder
      // Elements of no size carry nothing, but printing 2^32 of them took minutes
      // per row (found by fuzz_render_plan): a placeholder too.
      if (element->size == 0 && arr->nelems > 0) return;
      field.kind = FieldKind::Array;
      field.size = static_cast<uint32_t>(size);
      field.element = std::move(element);
      return;
    }
    default:
      return;
  }
}

// Rows are padded to the type's size in one buffer allocated up front, so a
// type from a stranger's BTF claiming gigabytes (found by fuzzing) would make
// us allocate and clear that much; no event or map value comes near this.
constexpr uint32_t kMaxPlanSize = 16u << 20;

void check_plan_size(uint64_t size, const PlanBudget& budget, const std::string& type_name) {
  if (size > kMaxPlanSize)
    throw Error(type_name + " is " + std::to_string(size) + " bytes, more than ecli prints (" +
                std::to_string(kMaxPlanSize >> 20) + " MiB)");
  if (budget.fields > kMaxPlanFields)
    throw Error(type_name + " has more than " + std::to_string(kMaxPlanFields) +
                " fields with its nested members, more than ecli prints");
}

}  // namespace

RenderPlan build_render_plan(const struct ::btf* btf, uint32_t type_id) {
  const btf_type* t = btf__type_by_id(btf, type_id);
  if (!t || type_id == 0) throw Error("type id " + std::to_string(type_id) + " is not in the object's BTF");
  RenderPlan plan;
  plan.type_name = c_type_name(btf, type_id);
  FieldPlan root;
  PlanBudget budget;
  plan_type(btf, type_id, root, 0, budget);
  check_plan_size(root.size, budget, plan.type_name);
  plan.size = root.size;
  if (root.kind == FieldKind::Struct) {
    plan.fields = std::move(root.members);
  } else {
    root.name = "value";
    plan.fields.push_back(std::move(root));
  }
  return plan;
}

RenderPlan build_members_plan(const struct ::btf* btf, std::string type_name, const std::vector<MemberSpec>& members) {
  RenderPlan plan;
  plan.type_name = std::move(type_name);
  uint64_t end = 0;
  PlanBudget budget;
  for (const auto& m : members) {
    if (m.type_id == 0 || !btf__type_by_id(btf, m.type_id))
      throw Error("member " + m.name + " has type id " + std::to_string(m.type_id) +
                  ", which is not in the object's BTF");
    FieldPlan field;
    field.name = m.name;
    try {
      plan_type(btf, m.type_id, field, 0, budget);
    } catch (const std::exception&) {
      field = FieldPlan{};
      field.name = m.name;
      field.c_type = "?";
    }
    field.offset = m.offset;
    end = std::max<uint64_t>(end, uint64_t(m.offset) + field.size);
    plan.fields.push_back(std::move(field));
  }
  check_plan_size(end, budget, plan.type_name);
  plan.size = static_cast<uint32_t>(end);
  return plan;
}

uint32_t find_type_by_name(const struct ::btf* btf, const std::string& name_arg) {
  std::string name = name_arg;
  int want = -1;
  for (auto [prefix, kind] : {std::pair{"struct ", BTF_KIND_STRUCT}, std::pair{"union ", BTF_KIND_UNION},
                              std::pair{"enum ", BTF_KIND_ENUM}}) {
    if (name.starts_with(prefix)) {
      name = name.substr(strlen(prefix));
      want = kind;
    }
  }
  uint32_t count = btf__type_cnt(btf);
  for (uint32_t id = 1; id < count; id++) {
    const btf_type* t = btf__type_by_id(btf, id);
    int kind = btf_kind(t);
    if (want >= 0 ? kind != want
                  : kind != BTF_KIND_STRUCT && kind != BTF_KIND_UNION && kind != BTF_KIND_TYPEDEF)
      continue;
    const char* n = btf__name_by_offset(btf, t->name_off);
    if (n && name == n) return id;
  }
  return 0;
}

}  // namespace ecli::btf
