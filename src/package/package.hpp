#pragma once
// The package model (DESIGN.md §5): metadata structs <-> JSON and the embedded
// object. Keys we do not model are kept in `extra` so that packages from other
// tools round-trip through us unchanged.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ecli::package {

using Json = nlohmann::ordered_json;

struct Variable {
  std::string name;
  std::string type;         // C spelling of the BTF type, e.g. "pid_t", "char[16]"
  std::string description;  // from the doc comment, may span lines
  Json cmdarg;              // {"default","short","long","help"} or null
  Json extra;               // other keys (doc-comment annotations, unknown keys)
};

struct DataSection {
  std::string name;  // ".rodata", ".bss", ".data", ".rodata.str1.1"...
  std::vector<Variable> variables;
};

// Which type the events of a ring buffer or perf event array carry, in the
// reference's form: eunomia-bpf's `MapExportConfig` (bpf-loader-rs,
// `meta.rs`), a serde enum stored as `bpf_skel.maps[i].export_config`:
//
//   absent, or "Default"   -> no choice made here (the reference then uses the
//                             first of `export_types`)
//   "NoExport"             -> the map's events are not read or printed
//   {"btf_type_id": N}     -> the events are of type N of the object's BTF
//   {"custom_members": [{"name": "pid", "offset": 0, "btf_type_id": 3}, ...]}
//                          -> the events are these members, each at its byte
//                             offset with the BTF type of that id
//
// The reference reads `export_config` only when `meta.enable_multiple_export_types`
// is true; otherwise it decodes its one stream with `export_types[0]`. The
// variants were renamed by hand in serde (NoExport keeps its Rust spelling, the
// others are snake_case keys), so we also accept the spellings serde would use
// without the renames ("no_export", "default", {"ExportUseBtf": N},
// {"ExportUseCustomMembers": [...]}) when reading, and write only the forms above.
struct CustomMember {
  std::string name;
  uint32_t offset = 0;  // bytes from the start of the event
  uint32_t btf_type_id = 0;
};

struct ExportConfig {
  enum class Kind { Default, NoExport, BtfTypeId, CustomMembers };
  Kind kind = Kind::Default;
  uint32_t btf_type_id = 0;            // BtfTypeId
  std::vector<CustomMember> members;  // CustomMembers
};

struct Map {
  std::string name;   // libbpf's map name ("hello_bp.rodata", "events")
  std::string ident;  // C identifier ("rodata", "events")
  bool mmaped = false;
  Json sample;  // the @sample annotation or null
  Json extra;   // annotations, unknown keys, and our "event_type" ("struct event")
  ExportConfig export_config;
};

struct Prog {
  std::string name;
  std::string attach;  // the SEC() string
  bool link = true;
  Json extra;  // tchook, tcopts, ifindex, flags, xdpopts, unknown keys
};

struct Doc {
  std::string version, brief, details, description;
};

struct ExportMember {
  std::string name, type;
};

struct ExportType {
  std::string name;
  std::vector<ExportMember> members;
  uint32_t size = 0;
  uint32_t type_id = 0;
};

struct Meta {
  std::string obj_name;
  std::vector<DataSection> data_sections;
  std::vector<Map> maps;
  std::vector<Prog> progs;
  std::optional<Doc> doc;
  std::vector<ExportType> export_types;
  std::string eunomia_version;
  // The reference's switch for reading each map's export_config (see ExportConfig).
  bool enable_multiple_export_types = false;
  Json extra_skel;  // unknown keys of meta.bpf_skel
  Json extra_meta;  // unknown keys of meta
};

struct Package {
  std::string object;  // the uncompressed ELF BPF object
  Meta meta;
  Json extra;  // unknown top-level keys
};

// Parses package.json text. Throws ecli::Error with one line that names the
// problem (invalid JSON, missing or mistyped field, bad base64, size mismatch).
Package parse_package(std::string_view text);
std::string write_package(const Package& package);

// Metadata alone (for packages, and for objects described at run time).
Meta meta_from_json(const Json& meta);
Json meta_to_json(const Meta& meta);

// export_config as JSON and back; parsing throws ecli::Error naming `path`.
ExportConfig export_config_from_json(const Json& value, const std::string& path);
Json export_config_to_json(const ExportConfig& config);  // null for Default

// Throws ecli::Error unless `object` starts like a BPF ELF relocatable object.
void check_bpf_elf(std::string_view object, const std::string& what);

}  // namespace ecli::package
