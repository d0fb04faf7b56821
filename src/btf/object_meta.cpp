#include "btf/object_meta.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <memory>

#include "btf/render_plan.hpp"
#include "btf/type_names.hpp"
#include "util/error.hpp"

namespace ecli::btf {
namespace {

bool is_data_section(std::string_view name) {
  for (std::string_view prefix : {".rodata", ".data", ".bss"})
    if (name == prefix || (name.size() > prefix.size() && name.substr(0, prefix.size() + 1) == std::string(prefix) + "."))
      return true;
  return false;
}

int silent_print(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

std::string section_ident(std::string_view section) {
  std::string out;
  for (char c : section.substr(section.starts_with('.') ? 1 : 0))
    out += (isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return out;
}

std::string object_name_for(std::string_view file_name) {
  auto slash = file_name.rfind('/');
  if (slash != std::string_view::npos) file_name = file_name.substr(slash + 1);
  for (std::string_view suffix : {".o", ".c", ".json"})
    if (file_name.ends_with(suffix)) {
      file_name.remove_suffix(suffix.size());
      break;
    }
  std::string out;
  for (char c : file_name) out += (isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return out.empty() ? "bpf" : out;
}

std::vector<GlobalVariable> list_globals(struct ::bpf_object* object) {
  std::vector<GlobalVariable> out;
  const struct ::btf* btf = bpf_object__btf(object);
  if (!btf) return out;
  uint32_t count = btf__type_cnt(btf);
  for (uint32_t id = 1; id < count; id++) {
    const btf_type* t = btf__type_by_id(btf, id);
    if (!btf_is_datasec(t)) continue;
    std::string section = btf__name_by_offset(btf, t->name_off);
    if (!is_data_section(section)) continue;
    const struct btf_var_secinfo* info = btf_var_secinfos(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++) {
      const btf_type* var = btf__type_by_id(btf, info[i].type);
      if (!var || !btf_is_var(var) || btf_var(var)->linkage == BTF_VAR_STATIC) continue;
      out.push_back({btf__name_by_offset(btf, var->name_off), section, info[i].offset, info[i].size, var->type});
    }
  }
  return out;
}

package::Meta describe_object(std::string_view elf, const std::string& obj_name,
                              const std::vector<std::string>& export_types, std::vector<std::string>* missing) {
  // libbpf warns on stderr about things like missing BTF; describing is silent.
  libbpf_print_fn_t previous = libbpf_set_print(silent_print);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = obj_name.c_str());
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> object(
      bpf_object__open_mem(elf.data(), elf.size(), &opts), bpf_object__close);
  int err = libbpf_get_error(object.get());
  libbpf_set_print(previous);
  if (err) {
    object.release();
    throw Error("cannot read the BPF object: " + errno_text(err));
  }

  package::Meta meta;
  meta.obj_name = obj_name;
  const struct ::btf* btf = bpf_object__btf(object.get());

  std::vector<GlobalVariable> globals = list_globals(object.get());
  for (const auto& g : globals) {
    if (meta.data_sections.empty() || meta.data_sections.back().name != g.section)
      meta.data_sections.push_back({g.section, {}});
    package::Variable v;
    v.name = g.name;
    v.type = c_type_name(btf, g.type_id);
    meta.data_sections.back().variables.push_back(std::move(v));
  }

  struct bpf_map* map;
  bpf_object__for_each_map(map, object.get()) {
    package::Map m;
    m.name = bpf_map__name(map);
    m.ident = m.name;
    if (bpf_map__is_internal(map) && btf) {
      // libbpf points an internal map's value type at its DATASEC.
      const btf_type* sec = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
      if (sec && btf_is_datasec(sec)) m.ident = section_ident(btf__name_by_offset(btf, sec->name_off));
    }
    if (bpf_map__is_internal(map)) {
      if (m.ident.starts_with('.')) m.ident = section_ident(m.ident);  // ".rodata.str1.1" has no DATASEC
      m.mmaped = true;
    }
    meta.maps.push_back(std::move(m));
  }

  for (const auto& type_name : export_types) {
    uint32_t id = btf ? find_type_by_name(btf, type_name) : 0;
    const btf_type* t = id ? btf__type_by_id(btf, resolve_type(btf, id)) : nullptr;
    if (!t || !(btf_is_struct(t) || btf_is_union(t))) {
      if (missing) missing->push_back(type_name);
      continue;
    }
    package::ExportType out;
    out.name = type_name.substr(type_name.find(' ') + 1);
    out.size = t->size;
    out.type_id = id;
    const struct btf_member* m = btf_members(t);
    for (uint16_t i = 0; i < btf_vlen(t); i++)
      out.members.push_back({btf__name_by_offset(btf, m[i].name_off), c_type_name(btf, m[i].type)});
    meta.export_types.push_back(std::move(out));
  }

  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object.get()) {
    package::Prog p;
    p.name = bpf_program__name(prog);
    p.attach = bpf_program__section_name(prog);
    p.link = true;
    meta.progs.push_back(std::move(p));
  }
  return meta;
}

}  // namespace ecli::btf
