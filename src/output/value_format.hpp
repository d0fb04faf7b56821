#pragma once
// Values as people read them: addresses, ports, errors, signals, open flags,
// kernel symbols, hex and durations. The format of a field is decided once,
// when its plan is made (DESIGN.md §3), from three sources, later ones winning:
//
//  1. the C type (choose_auto_formats): conservative rules, listed in README.md;
//  2. `/// @format KIND` on a struct field, which ecc carries in the package as
//     meta.field_formats: {"struct event": {"saddr": "ip"}};
//  3. `ecli run --format FIELD=KIND`, FIELD being a field as the header and
//     JSON name it, a dotted path into nested structs (`addr.port`), optionally
//     after the ring buffer's or map's name (`events.saddr`).
//
// A format that does not fit its field (ipv6 on 4 bytes) or names no field is
// reported on one line and ignored; the rest prints.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "btf/render_plan.hpp"
#include "output/event_format.hpp"

namespace ecli::output {

using btf::ValueFormat;

std::optional<ValueFormat> parse_value_format(std::string_view name);
std::string_view value_format_name(ValueFormat format);
// "ipv4, ipv6, ..." for messages.
std::string value_format_names();
// Why `format` cannot print `field` ("ipv6 needs 16 bytes, and saddr has 4"); empty when it can.
std::string format_misfit(const btf::FieldPlan& field, ValueFormat format);

// The rules of the C type, applied to the members of one struct (recursively).
void choose_auto_formats(std::vector<btf::FieldPlan>& fields);

struct FieldFormats {
  // From meta.field_formats: type name ("struct event") -> member name -> kind.
  std::map<std::string, std::map<std::string, std::string>> annotated;
  // `/// @format KIND` on globals (a data section variable's "format" key):
  // name -> kind, for the values of the global printed as a result.
  std::map<std::string, std::string> globals;
  struct Request {  // one --format FIELD=KIND
    std::string text;   // as given, for messages
    std::string field;  // "saddr", "events.saddr", "addr.port"
    ValueFormat format = ValueFormat::None;
    bool matched = false;
  };
  std::vector<Request> requests;
  std::vector<std::string> warnings;  // bad annotations, misfits; each said once by the caller
};

// Parses --format arguments (FIELD=KIND) and meta.field_formats (any JSON; a
// non-object is ignored). Throws ecli::Error for a malformed argument or an
// unknown kind; a bad annotation becomes a warning.
FieldFormats parse_field_formats(const std::vector<std::string>& arguments,
                                 const nlohmann::ordered_json& meta_field_formats);

// Sets the format of `plan`'s fields: auto rules, then annotations, then
// requests whose FIELD fits `scope` (the ring buffer's or map's name). Misfits
// are added to formats.warnings.
// `scalar_name` is what a table calls the only field of a plan that is not a
// struct (a map's "key" or "value").
void apply_formats(btf::RenderPlan& plan, std::string_view scope, FieldFormats& formats,
                   std::string_view scalar_name = {});
// Requests that matched no field of any plan: one line each.
std::vector<std::string> unmatched_requests(const FieldFormats& formats);

// Appends `f` (with f.format != None) read from `base` (its enclosing struct,
// `avail` bytes readable, f wholly inside them). False when the format cannot
// print this field (the caller prints it by its kind).
bool append_formatted(Buffer& out, const btf::FieldPlan& f, const uint8_t* base, size_t avail, Style style);
// A table width that fits typical values of the format.
int format_width(ValueFormat format);

}  // namespace ecli::output
