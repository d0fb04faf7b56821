#include "btf/value_type.hpp"

#include <bpf/btf.h>

#include "btf/type_names.hpp"

namespace ecli::btf {

ValueType describe_value_type(const struct ::btf* btf, uint32_t type_id) {
  ValueType out;
  out.c_name = c_type_name(btf, type_id);
  uint32_t id = resolve_type(btf, type_id);
  const btf_type* t = btf__type_by_id(btf, id);
  if (!t) return out;
  switch (btf_kind(t)) {
    case BTF_KIND_INT: {
      uint32_t info = *reinterpret_cast<const uint32_t*>(t + 1);
      uint32_t encoding = BTF_INT_ENCODING(info);
      out.size = t->size;
      if (BTF_INT_OFFSET(info) != 0 || BTF_INT_BITS(info) != t->size * 8) return out;  // bitfield-like ints
      if (encoding & BTF_INT_BOOL) {
        out.kind = ValueKind::Bool;
      } else {
        out.kind = ValueKind::Integer;
        out.is_signed = encoding & BTF_INT_SIGNED;
      }
      if (out.size > 8) out.kind = ValueKind::Unsupported;  // __int128
      return out;
    }
    case BTF_KIND_ENUM: {
      out.kind = ValueKind::Enum;
      out.size = t->size;
      out.is_signed = btf_kflag(t);
      const struct btf_enum* e = btf_enum(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++)
        out.enumerators.emplace_back(btf__name_by_offset(btf, e[i].name_off),
                                     out.is_signed ? int64_t(e[i].val) : int64_t(uint32_t(e[i].val)));
      return out;
    }
    case BTF_KIND_ENUM64: {
      out.kind = ValueKind::Enum;
      out.size = t->size;
      out.is_signed = btf_kflag(t);
      const struct btf_enum64* e = btf_enum64(t);
      for (uint16_t i = 0; i < btf_vlen(t); i++)
        out.enumerators.emplace_back(btf__name_by_offset(btf, e[i].name_off), int64_t(btf_enum64_value(&e[i])));
      return out;
    }
    case BTF_KIND_FLOAT:
      out.size = t->size;
      if (out.size == 4 || out.size == 8) out.kind = ValueKind::Float;
      return out;
    case BTF_KIND_ARRAY: {
      const struct btf_array* arr = btf_array(t);
      const btf_type* elem = btf__type_by_id(btf, resolve_type(btf, arr->type));
      if (elem && btf_kind(elem) == BTF_KIND_INT && elem->size == 1) {
        out.kind = ValueKind::String;
        out.size = arr->nelems;
      }
      return out;
    }
    default:
      return out;
  }
}

}  // namespace ecli::btf
