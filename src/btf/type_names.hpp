#pragma once
#include <cstdint>
#include <string>

struct btf;

namespace ecli::btf {

// C spelling of a BTF type as packages record it: "int", "pid_t",
// "unsigned long long", "char[16]", "struct event", "void *". const/volatile
// are dropped: a package describes storage, not qualifiers.
std::string c_type_name(const struct ::btf* btf, uint32_t type_id);

// Skips typedefs and const/volatile/restrict/type tags.
uint32_t resolve_type(const struct ::btf* btf, uint32_t type_id);

}  // namespace ecli::btf
