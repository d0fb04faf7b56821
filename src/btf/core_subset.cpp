#include "btf/core_subset.hpp"

#include <gelf.h>
#include <libelf.h>

#include <bitset>
#include <cstring>
#include <unordered_map>

namespace ecli::btf {
namespace {

// The layouts of linux/btf.h and of libbpf's .BTF.ext, read with bounds checks:
// the object's sections come from a package, which may be hostile.
constexpr uint16_t kMagic = 0xeB9F;
enum Kind : uint32_t {
  kInt = 1, kPtr, kArray, kStruct, kUnion, kEnum, kFwd, kTypedef, kVolatile, kConst, kRestrict,
  kFunc, kFuncProto, kVar, kDatasec, kFloat, kDeclTag, kTypeTag, kEnum64, kMaxKind = kEnum64
};
// enum bpf_core_relo_kind
constexpr uint32_t kTypeIdLocal = 6, kTypeIdTarget = 7, kTypeMatches = 12;

uint32_t load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

struct Header {
  uint16_t magic;
  uint8_t version, flags;
  uint32_t hdr_len, type_off, type_len, str_off, str_len;
};

// Extra bytes after the 12-byte common record of a type of `kind` with `vlen` items.
[[gnu::always_inline]] inline size_t extra_size(uint32_t kind, uint32_t vlen) {
  switch (kind) {
    case kInt: case kVar: case kDeclTag: return 4;
    case kArray: return 12;
    case kStruct: case kUnion: case kDatasec: case kEnum64: return 12 * size_t{vlen};
    case kEnum: case kFuncProto: return 8 * size_t{vlen};
    default: return 0;
  }
}

struct RawBtf {
  std::string_view types, strings;
  std::vector<uint32_t> offsets{0};  // offsets[id] of type id's record in `types`; id 0 is void

  uint32_t count() const { return static_cast<uint32_t>(offsets.size() - 1); }
  const char* record(uint32_t id) const { return types.data() + offsets[id]; }
  static uint32_t kind(const char* r) { return (load32(r + 4) >> 24) & 0x1f; }
  static uint32_t vlen(const char* r) { return load32(r + 4) & 0xffff; }
  // The string at `offset`, or nullopt when it runs past the string section.
  std::optional<std::string_view> string(uint32_t offset) const {
    if (offset >= strings.size()) return std::nullopt;
    const void* end = std::memchr(strings.data() + offset, '\0', strings.size() - offset);
    if (!end) return std::nullopt;
    return std::string_view(strings.data() + offset, static_cast<const char*>(end) - (strings.data() + offset));
  }
};

std::optional<RawBtf> parse(std::string_view data) {
  Header h;
  if (data.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, data.data(), sizeof h);
  if (h.magic != kMagic || h.hdr_len < sizeof h || h.hdr_len > data.size()) return std::nullopt;
  std::string_view body = data.substr(h.hdr_len);
  if (h.type_off > body.size() || h.type_len > body.size() - h.type_off || h.str_off > body.size() ||
      h.str_len > body.size() - h.str_off)
    return std::nullopt;
  RawBtf btf{body.substr(h.type_off, h.type_len), body.substr(h.str_off, h.str_len)};
  btf.offsets.reserve(btf.types.size() / 16);
  for (size_t at = 0; at < btf.types.size();) {
    if (btf.types.size() - at < 12) return std::nullopt;
    const char* r = btf.types.data() + at;
    uint32_t kind = RawBtf::kind(r);
    if (kind == 0 || kind > kMaxKind) return std::nullopt;
    size_t size = 12 + extra_size(kind, RawBtf::vlen(r));
    if (size > btf.types.size() - at) return std::nullopt;
    btf.offsets.push_back(static_cast<uint32_t>(at));
    at += size;
  }
  return btf;
}

// Calls f(offset of a u32 type id inside the record) for each type the record refers to.
template <typename F>
void for_each_reference(const char* r, F&& f) {
  uint32_t kind = RawBtf::kind(r), vlen = RawBtf::vlen(r);
  switch (kind) {
    case kPtr: case kTypedef: case kVolatile: case kConst: case kRestrict: case kFunc: case kVar:
    case kDeclTag: case kTypeTag:
      f(8);
      break;
    case kFuncProto:
      f(8);
      for (uint32_t i = 0; i < vlen; i++) f(12 + 8 * size_t{i} + 4);
      break;
    case kArray:
      f(12);
      f(16);
      break;
    case kStruct: case kUnion:
      for (uint32_t i = 0; i < vlen; i++) f(12 + 12 * size_t{i} + 4);
      break;
    case kDatasec:
      for (uint32_t i = 0; i < vlen; i++) f(12 + 12 * size_t{i});
      break;
    default:
      break;
  }
}

// Calls f(offset of a u32 string offset inside the record) for each name in it.
template <typename F>
void for_each_name(const char* r, F&& f) {
  f(0);
  uint32_t kind = RawBtf::kind(r), vlen = RawBtf::vlen(r);
  size_t item = kind == kStruct || kind == kUnion || kind == kEnum64 ? 12 : kind == kEnum || kind == kFuncProto ? 8 : 0;
  if (item)
    for (uint32_t i = 0; i < vlen; i++) f(12 + item * i);
}

}  // namespace

std::optional<std::string_view> elf_section(std::string_view elf_bytes, const char* wanted) {
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(const_cast<char*>(elf_bytes.data()), elf_bytes.size());
  if (!elf) return std::nullopt;
  std::optional<std::string_view> found;
  size_t names = 0;
  if (elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
      GElf_Shdr shdr;
      const char* name = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, names, shdr.sh_name) : nullptr;
      if (!name || std::strcmp(name, wanted) != 0 || shdr.sh_type == SHT_NOBITS) continue;
      if (shdr.sh_offset <= elf_bytes.size() && shdr.sh_size <= elf_bytes.size() - shdr.sh_offset)
        found = elf_bytes.substr(shdr.sh_offset, shdr.sh_size);
      break;
    }
  }
  elf_end(elf);
  return found;
}

std::string_view essential_name(std::string_view name) {
  // libbpf's bpf_core_essential_name_len: cut at the last "X___Y", X and Y not '_'.
  for (size_t i = name.size() >= 5 ? name.size() - 5 + 1 : 0; i-- > 0;) {
    if (name[i] != '_' && name[i + 1] == '_' && name[i + 2] == '_' && name[i + 3] == '_' && name[i + 4] != '_')
      return name.substr(0, i + 1);
  }
  return name;
}

std::optional<CoreRoots> core_roots(std::string_view btf_data, std::string_view ext) {
  auto btf = parse(btf_data);
  // struct btf_ext_header up to core_relo_len: 8 bytes, then three (offset, length) pairs.
  if (!btf || ext.size() < 32 || (load32(ext.data()) & 0xffff) != kMagic) return std::nullopt;
  uint32_t hdr_len = load32(ext.data() + 4), off = load32(ext.data() + 24), len = load32(ext.data() + 28);
  if (hdr_len < 32 || hdr_len > ext.size() || off > ext.size() - hdr_len || len > ext.size() - hdr_len - off ||
      len < 4)
    return std::nullopt;
  std::string_view relos = ext.substr(hdr_len + off, len);
  uint32_t record_size = load32(relos.data());
  if (record_size < 16) return std::nullopt;
  CoreRoots roots;
  for (size_t at = 4; at < relos.size();) {
    if (relos.size() - at < 8) return std::nullopt;
    uint32_t count = load32(relos.data() + at + 4);
    at += 8;
    if (count > (relos.size() - at) / record_size) return std::nullopt;
    for (uint32_t i = 0; i < count; i++, at += record_size) {
      uint32_t type_id = load32(relos.data() + at + 4), kind = load32(relos.data() + at + 12);
      if (kind == kTypeIdTarget) return std::nullopt;
      if (kind == kTypeMatches) roots.needs_pointees = true;
      if (kind == kTypeIdLocal) continue;  // no kernel type involved
      if (type_id == 0 || type_id > btf->count()) return std::nullopt;
      auto name = btf->string(load32(btf->record(type_id)));
      if (!name || name->empty()) return std::nullopt;
      std::string root(essential_name(*name));
      bool known = false;
      for (const auto& n : roots.names) known = known || n == root;
      if (!known) roots.names.push_back(std::move(root));
    }
  }
  if (roots.names.empty()) return std::nullopt;
  return roots;
}

std::optional<CoreRoots> core_roots_of_object(std::string_view elf) {
  auto btf = elf_section(elf, ".BTF");
  auto ext = btf ? elf_section(elf, ".BTF.ext") : std::nullopt;
  if (!ext) return std::nullopt;
  return core_roots(*btf, *ext);
}

std::optional<std::string> core_subset(std::string_view kernel_btf, const CoreRoots& roots) {
  auto btf = parse(kernel_btf);
  if (!btf) return std::nullopt;
  uint32_t n = btf->count();

  // What is kept of each type: its members too (full), or not (shallow: a
  // struct or union reached only through a pointer).
  enum : uint8_t { kNone, kShallow, kFull };
  std::vector<uint8_t> kept(n + 1, kNone);
  std::vector<std::pair<uint32_t, uint8_t>> work;
  std::unordered_map<std::string_view, bool> found;
  // A candidate's name starts with a root's: most of the kernel's names are
  // passed over by their first letter, before their length is even known.
  std::bitset<256> first_letters;
  for (const auto& name : roots.names) {
    found.emplace(name, false);
    if (!name.empty()) first_letters.set(static_cast<unsigned char>(name[0]));
  }
  for (uint32_t id = 1; id <= n; id++) {
    uint32_t kind = RawBtf::kind(btf->record(id));
    if (kind == kFunc || kind == kFuncProto || kind == kVar || kind == kDatasec || kind == kDeclTag) continue;
    uint32_t name_off = load32(btf->record(id));
    if (name_off >= btf->strings.size()) return std::nullopt;
    if (!first_letters.test(static_cast<unsigned char>(btf->strings[name_off]))) continue;
    auto name = btf->string(name_off);
    if (!name) return std::nullopt;
    auto it = found.find(essential_name(*name));
    if (it == found.end()) continue;
    it->second = true;
    work.emplace_back(id, kFull);
  }
  for (const auto& [name, any] : found)
    if (!any) return std::nullopt;

  while (!work.empty()) {
    auto [id, how] = work.back();
    work.pop_back();
    if (kept[id] >= how) continue;
    kept[id] = how;
    const char* r = btf->record(id);
    uint32_t kind = RawBtf::kind(r);
    if ((kind == kStruct || kind == kUnion) && how == kShallow) continue;
    bool bad = false;
    for_each_reference(r, [&](size_t at) {
      uint32_t target = load32(r + at);
      if (target > n) bad = true;
      else if (target) work.emplace_back(target, kind == kPtr && !roots.needs_pointees ? uint8_t{kShallow} : how);
    });
    if (bad) return std::nullopt;
  }

  std::vector<uint32_t> new_id(n + 1, 0);
  uint32_t next = 1;
  for (uint32_t id = 1; id <= n; id++)
    if (kept[id]) new_id[id] = next++;

  std::string types, strings(1, '\0');
  std::unordered_map<std::string_view, uint32_t> string_at;
  bool bad = false;
  auto add_string = [&](uint32_t offset) -> uint32_t {
    if (offset == 0) return 0;
    auto s = btf->string(offset);
    if (!s) {
      bad = true;
      return 0;
    }
    auto [it, added] = string_at.emplace(*s, static_cast<uint32_t>(strings.size()));
    if (added) {
      strings.append(*s);
      strings.push_back('\0');
    }
    return it->second;
  };
  for (uint32_t id = 1; id <= n; id++) {
    if (!kept[id]) continue;
    const char* r = btf->record(id);
    uint32_t kind = RawBtf::kind(r), vlen = RawBtf::vlen(r);
    bool shallow = kept[id] == kShallow && (kind == kStruct || kind == kUnion);
    size_t size = 12 + (shallow ? 0 : extra_size(kind, vlen));
    size_t at = types.size();
    types.append(r, size);
    char* out = types.data() + at;
    if (shallow) {
      uint32_t info = load32(r + 4) & ~0xffffu;
      std::memcpy(out + 4, &info, 4);
    }
    // A shallow struct's record ends before its members: fields past `size` are not copied.
    auto patch = [&](size_t field, uint32_t value) { std::memcpy(out + field, &value, 4); };
    for_each_reference(r, [&](size_t field) {
      if (field + 4 > size) return;
      uint32_t target = load32(r + field);
      if (target > n) bad = true;
      else patch(field, new_id[target]);
    });
    for_each_name(r, [&](size_t field) {
      if (field + 4 <= size) patch(field, add_string(load32(r + field)));
    });
  }
  if (bad) return std::nullopt;

  Header h{kMagic, 1, 0, sizeof(Header), 0, static_cast<uint32_t>(types.size()), static_cast<uint32_t>(types.size()),
           static_cast<uint32_t>(strings.size())};
  std::string out(reinterpret_cast<const char*>(&h), sizeof h);
  out += types;
  out += strings;
  return out;
}

}  // namespace ecli::btf
