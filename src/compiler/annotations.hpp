#pragma once
#include <string_view>

#include "package/package.hpp"

namespace ecli::compiler {

// Turns the raw text of a `///` or `/** */` comment into an annotation object
// (DESIGN.md §5): `@key <json>` -> key: json (or the raw text when it is not
// JSON; a JSON value may continue over the following lines), a bare `@key` ->
// true, and every free-text line, in order, into "description".
package::Json parse_doc_comment(std::string_view raw);

}  // namespace ecli::compiler
