#pragma once
// A render plan: everything needed to print a value of one BTF type, worked
// out once (DESIGN.md §3) so that printing an event never walks BTF.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

struct btf;

namespace ecli::btf {

enum class FieldKind {
  Signed,    // integers of 1 to 8 bytes
  Unsigned,
  Signed128,    // __int128: printed in hex ("-0x5", "0x1234...")
  Unsigned128,  // unsigned __int128: hex
  Bool,
  Char,      // a single char: printed as text
  String,    // char[N]: text up to the first NUL
  Enum,      // by name, unknown values as numbers
  Pointer,   // hex
  Float,
  Struct,    // members in `members` (unions too: every member shown)
  Array,     // `count` times `element`
  Unknown,   // a type we cannot print: shown as hex bytes (memory order); a
             // placeholder when it has no size (the type could not be planned)
};

// How a value reads for people (`/// @format KIND`, `--format FIELD=KIND`, or
// chosen from the C type; see output/value_format.hpp). None: by its kind.
enum class ValueFormat : uint8_t { None, Ipv4, Ipv6, Ip, Port, Errno, Signal, OpenFlags, Ksym, Hex, Ns, Us, Ms };

struct FieldPlan {
  std::string name;
  FieldKind kind = FieldKind::Unknown;
  uint32_t offset = 0;  // bytes from the start of the enclosing struct (or array element)
  uint32_t size = 0;    // bytes
  uint16_t bit_offset = 0;  // bitfields: bits from `offset`
  uint16_t bit_size = 0;    // bitfields: width; 0 when not a bitfield
  std::vector<std::pair<int64_t, std::string>> enumerators;  // sorted by value
  std::vector<FieldPlan> members;                            // Struct
  std::shared_ptr<FieldPlan> element;                        // Array
  uint32_t count = 0;                                        // Array
  std::string c_type;                                        // "pid_t", "char[16]"
  ValueFormat format = ValueFormat::None;
  int32_t family_offset = 0;  // Ip: the sibling af/family field, bytes from the enclosing struct
  uint8_t family_size = 0;    // Ip: its size; 0 when there is none
  // Stacks (issue 10): `stack` indexes the run's stack specs (which stack map,
  // user or kernel); set by the runtime, -1 for other fields. The sibling
  // fields saying how many bytes were collected and which process they came
  // from are found once the plan is final (output::bind_stack_fields), in
  // bytes from the enclosing struct; -1 when there is none.
  int16_t stack = -1;
  bool stack_user = false;  // user addresses (else kernel)
  int32_t stack_bytes_offset = -1;
  uint8_t stack_bytes_size = 0;
  int32_t stack_pid_offset = -1;
  uint8_t stack_pid_size = 0;
};

struct RenderPlan {
  std::string type_name;  // "struct event"
  uint32_t size = 0;
  std::vector<FieldPlan> fields;  // top-level members (a non-struct type is one field named "value")
};

// Throws ecli::Error when `type_id` is not in `btf`. A member whose planning
// fails (malformed BTF) becomes an Unknown field of size 0, so one bad field
// never costs the whole type.
RenderPlan build_render_plan(const struct ::btf* btf, uint32_t type_id);

// A plan for a list of members that is not a type of the BTF: eunomia's
// export_config "custom_members". Each member is planned from its BTF type id
// and placed at its byte offset; the plan's size reaches the end of the last
// member. Throws ecli::Error naming the member whose type id is not in `btf`.
struct MemberSpec {
  std::string name;
  uint32_t offset = 0;  // bytes
  uint32_t type_id = 0;
};
RenderPlan build_members_plan(const struct ::btf* btf, std::string type_name, const std::vector<MemberSpec>& members);

// Finds a struct/union/typedef by name ("event", "struct event"); 0 when absent.
uint32_t find_type_by_name(const struct ::btf* btf, const std::string& name);

}  // namespace ecli::btf
