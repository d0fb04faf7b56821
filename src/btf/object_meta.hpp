#pragma once
// Describes a BPF ELF object from its BTF and ELF sections: programs, maps,
// and the global variables of each data section. Needs no kernel.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "package/package.hpp"

struct btf;
struct bpf_object;

namespace ecli::btf {

struct GlobalVariable {
  std::string name;
  std::string section;  // ".rodata", ".bss", ".data"...
  uint32_t offset = 0;  // inside the section
  uint32_t size = 0;
  uint32_t type_id = 0;  // of the value (the VAR's target type)
};

// Global (non-static) variables of the writable-before-load data sections of
// an opened object, in section then declaration order. Empty without BTF.
std::vector<GlobalVariable> list_globals(struct ::bpf_object* object);

// "rodata" for ".rodata", "data_foo" for ".data.foo": the C identifier
// bpftool's skeletons use for a data section map.
std::string section_ident(std::string_view section);

// The metadata for an object (no doc comments): bpf_skel, and export_types
// for the named types ("struct event") found in its BTF; the names that are
// not there go to `missing`.
package::Meta describe_object(std::string_view elf, const std::string& obj_name,
                              const std::vector<std::string>& export_types = {},
                              std::vector<std::string>* missing = nullptr);

// "opensnoop_bpf" for "opensnoop.bpf.o" or "opensnoop.bpf.c".
std::string object_name_for(std::string_view file_name);

}  // namespace ecli::btf
