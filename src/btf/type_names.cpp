#include "btf/type_names.hpp"

#include <bpf/btf.h>

namespace ecli::btf {

uint32_t resolve_type(const struct ::btf* btf, uint32_t id) {
  for (int guard = 0; guard < 64; guard++) {
    const btf_type* t = btf__type_by_id(btf, id);
    if (!t) return id;
    switch (btf_kind(t)) {
      case BTF_KIND_TYPEDEF:
      case BTF_KIND_CONST:
      case BTF_KIND_VOLATILE:
      case BTF_KIND_RESTRICT:
      case BTF_KIND_TYPE_TAG:
        id = t->type;
        break;
      default:
        return id;
    }
  }
  return id;
}

namespace {

// DEPTH bounds the walk: BTF from a package may make a loop of modifiers and
// pointers (const -> pointer -> const ...), which btf__new accepts.
std::string type_name(const struct ::btf* btf, uint32_t id, int depth) {
  if (depth > 64) return "<unknown>";
  const btf_type* t = btf__type_by_id(btf, id);
  if (!t) return "<unknown>";
  if (id == 0) return "void";
  const char* name = btf__name_by_offset(btf, t->name_off);
  std::string named = name ? name : "";
  switch (btf_kind(t)) {
    case BTF_KIND_INT:
    case BTF_KIND_FLOAT:
    case BTF_KIND_TYPEDEF:
      return named;
    case BTF_KIND_STRUCT:
      return named.empty() ? "struct {...}" : "struct " + named;
    case BTF_KIND_UNION:
      return named.empty() ? "union {...}" : "union " + named;
    case BTF_KIND_ENUM:
    case BTF_KIND_ENUM64:
      return named.empty() ? "enum {...}" : "enum " + named;
    case BTF_KIND_FWD:
      return (btf_kflag(t) ? "union " : "struct ") + named;
    case BTF_KIND_CONST:
    case BTF_KIND_VOLATILE:
    case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG:
      return type_name(btf, t->type, depth + 1);
    case BTF_KIND_PTR: {
      const btf_type* target = btf__type_by_id(btf, resolve_type(btf, t->type));
      if (target && btf_kind(target) == BTF_KIND_FUNC_PROTO) return "void *";
      std::string inner = type_name(btf, t->type, depth + 1);
      // An unnamed int or typedef has an empty name (found by fuzz_render_plan: back() of "").
      return !inner.empty() && inner.back() == '*' ? inner + "*" : inner + " *";
    }
    case BTF_KIND_ARRAY: {
      const struct btf_array* arr = btf_array(t);
      // Collect dimensions outermost first: int a[2][3] is array(2) of array(3) of int.
      std::string dims = "[" + std::to_string(arr->nelems) + "]";
      uint32_t elem = arr->type;
      int nested = 0;  // bounded: an array may be its own element in hostile BTF
      for (const btf_type* e = btf__type_by_id(btf, elem); e && btf_kind(e) == BTF_KIND_ARRAY && ++nested < 64;
           e = btf__type_by_id(btf, elem)) {
        dims += "[" + std::to_string(btf_array(e)->nelems) + "]";
        elem = btf_array(e)->type;
      }
      return type_name(btf, elem, depth + 1) + dims;
    }
    case BTF_KIND_FUNC_PROTO:
    case BTF_KIND_FUNC:
      return "void";
    default:
      return named.empty() ? "<unknown>" : named;
  }
}

}  // namespace

std::string c_type_name(const struct ::btf* btf, uint32_t id) { return type_name(btf, id, 0); }

}  // namespace ecli::btf
