#include "compiler/source_docs.hpp"

#include "util/error.hpp"

namespace ecli::compiler {

using package::Json;

Json docs_to_json(const SourceDocs& d) {
  return Json{{"variables", d.variables},       {"functions", d.functions},
              {"event_types", d.event_types},   {"header_structs", d.header_structs},
              {"roles", d.roles},               {"field_formats", d.field_formats},
              {"stack_fields", d.stack_fields}, {"warnings", d.warnings},
              {"errors", d.errors},             {"read_with_pch", d.read_with_pch}};
}

SourceDocs docs_from_json(const Json& j) {
  SourceDocs d;
  try {
    d.variables = j.at("variables").get<std::map<std::string, Json>>();
    d.functions = j.at("functions").get<std::map<std::string, Json>>();
    d.event_types = j.at("event_types").get<std::map<std::string, std::string>>();
    d.header_structs = j.at("header_structs").get<std::vector<std::string>>();
    d.roles = j.at("roles").get<std::map<std::string, Json>>();
    d.field_formats = j.at("field_formats").get<std::map<std::string, std::map<std::string, std::string>>>();
    d.stack_fields = j.at("stack_fields");
    d.warnings = j.at("warnings").get<std::vector<std::string>>();
    d.errors = j.at("errors").get<std::vector<std::string>>();
    d.read_with_pch = j.at("read_with_pch").get<bool>();
  } catch (const Json::exception& e) {
    throw Error(std::string("the source's docs from ecc-clang are not of the expected shape: ") + e.what());
  }
  return d;
}

}  // namespace ecli::compiler
