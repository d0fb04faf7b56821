#pragma once
// What ecc learns from the source beside the object: doc comments (a real
// parser attaches them to the declarations they document; DESIGN.md §4), map
// roles, event types, stack fields. ecc-clang, ecc's embedded clang, reads it
// while it compiles (compiler/frontend/) and hands it over as JSON.
#include <map>
#include <string>
#include <vector>

#include "package/package.hpp"

namespace ecli::compiler {

struct SourceDocs {
  std::map<std::string, package::Json> variables;  // globals and maps by name
  std::map<std::string, package::Json> functions;  // programs by function name
  // Which struct each ring buffer / perf event array carries ("events" ->
  // "struct event"), from the calls that send to it.
  std::map<std::string, std::string> event_types;
  // Struct names defined in the headers given to ecc (eunomia's export form).
  std::vector<std::string> header_structs;
  // Each file-scope map and global of the main file -> {"role", "index_names"?}
  // from what the programs do with it (map_roles.hpp).
  std::map<std::string, package::Json> roles;
  // `/// @format KIND` on struct fields: "struct event" -> "saddr" -> "ip".
  std::map<std::string, std::map<std::string, std::string>> field_formats;
  // The struct fields that hold stacks (stack_fields.hpp): "struct key_t" ->
  // "user_stack_id" -> {"kind": "id", "map": "stackmap", "user": true}.
  package::Json stack_fields = package::Json::object();
  std::vector<std::string> warnings;               // "file:line: ..." for people
  std::vector<std::string> errors;                 // problems that must stop ecc
  bool read_with_pch = false;                      // the PCH given was used (for ecc --verbose)
};

// SourceDocs as JSON and back, to cross from ecc-clang's process. from_json
// throws ecli::Error on a document of another shape.
package::Json docs_to_json(const SourceDocs& docs);
SourceDocs docs_from_json(const package::Json& json);

}  // namespace ecli::compiler
