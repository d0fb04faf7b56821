#pragma once
// The part of the kernel's BTF that an object's CO-RE relocations can read.
//
// libbpf relocates against all of /sys/kernel/btf/vmlinux: it parses and
// checks over 100,000 types and compares every name with each relocation's
// type, about 40 M instructions, to move a few field offsets. Before an
// object's first load on a kernel, ecli instead hands libbpf a BTF holding
// only the types libbpf could pick as candidates (same name, flavours
// stripped, as libbpf matches them) and what its checks read of them. libbpf
// still does every relocation itself; this only leaves out types it would
// never look at.
//
// What libbpf reads of a candidate: field relocations walk members, array
// elements and modifiers down to the field, and compare its type's kind
// without looking behind a pointer; type relocations compare kinds through
// pointers and prototypes, but not the members of structs. So the members of
// a struct or union reached only through a pointer are left out (the struct
// keeps its name, kind and size). `bpf_core_type_matches` compares members
// behind pointers, so an object that uses it gets everything reachable.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecli::btf {

struct CoreRoots {
  std::vector<std::string> names;  // essential names (flavours like "___old" stripped) of the relocations' types
  bool needs_pointees = false;     // a type-match relocation: struct members behind pointers count
};

// The roots of the CO-RE relocations of an object, from its .BTF and .BTF.ext
// sections. nullopt when the kernel's own BTF must be used as it is: no CO-RE
// relocation, malformed sections, an unnamed root, or a relocation that
// yields a kernel type id (`bpf_core_type_id_kernel`: ids of a subset differ).
std::optional<CoreRoots> core_roots(std::string_view btf, std::string_view btf_ext);

// The same for an ELF object (its .BTF and .BTF.ext sections).
std::optional<CoreRoots> core_roots_of_object(std::string_view elf);

// A raw BTF file with the types of `kernel_btf` that CO-RE may read for
// `roots`. nullopt when the kernel BTF is malformed or a root has no type
// of its name there (libbpf then looks in the modules' BTF, so it needs the
// full BTF).
std::optional<std::string> core_subset(std::string_view kernel_btf, const CoreRoots& roots);

// The bytes of the ELF section `name` of `elf` (nullopt when there is none or it lies outside).
std::optional<std::string_view> elf_section(std::string_view elf, const char* name);

// libbpf's essential name: "task_struct___old" -> "task_struct".
std::string_view essential_name(std::string_view name);

}  // namespace ecli::btf
