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

std::string c_type_name(const struct ::btf* btf, uint32_t id) {
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
      return c_type_name(btf, t->type);
    case BTF_KIND_PTR: {
      const btf_type* target = btf__type_by_id(btf, resolve_type(btf, t->type));
      if (target && btf_kind(target) == BTF_KIND_FUNC_PROTO) return "void *";
      std::string inner = c_type_name(btf, t->type);
      return inner.back() == '*' ? inner + "*" : inner + " *";
    }
    case BTF_KIND_ARRAY: {
      const struct btf_array* arr = btf_array(t);
      // Collect dimensions outermost first: int a[2][3] is array(2) of array(3) of int.
      std::string dims = "[" + std::to_string(arr->nelems) + "]";
      uint32_t elem = arr->type;
      for (const btf_type* e = btf__type_by_id(btf, elem); e && btf_kind(e) == BTF_KIND_ARRAY;
           e = btf__type_by_id(btf, elem)) {
        dims += "[" + std::to_string(btf_array(e)->nelems) + "]";
        elem = btf_array(e)->type;
      }
      return c_type_name(btf, elem) + dims;
    }
    case BTF_KIND_FUNC_PROTO:
    case BTF_KIND_FUNC:
      return "void";
    default:
      return named.empty() ? "<unknown>" : named;
  }
}

}  // namespace ecli::btf
