#pragma once
// What kind of scalar a global variable holds, so that a command-line string
// can be checked and stored with the right width and signedness.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

struct btf;

namespace ecli::btf {

enum class ValueKind { Integer, Bool, Enum, String, Float, Unsupported };

struct ValueType {
  ValueKind kind = ValueKind::Unsupported;
  uint32_t size = 0;       // bytes of storage
  bool is_signed = false;  // integers and enums
  std::vector<std::pair<std::string, int64_t>> enumerators;
  std::string c_name;  // for messages: "pid_t", "char[16]"
};

ValueType describe_value_type(const struct ::btf* btf, uint32_t type_id);

}  // namespace ecli::btf
