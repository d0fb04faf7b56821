#pragma once
// Program options generated from global variables (DESIGN.md §5): every
// settable global in .rodata/.bss/.data becomes `--NAME VALUE`, typed by BTF,
// shaped by its doc comment and @cmdarg.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "btf/object_meta.hpp"
#include "btf/value_type.hpp"
#include "package/package.hpp"

namespace ecli::runtime {

// Encodes `text` as the bytes of a value of `type` (native byte order).
// Throws ecli::Error with the reason (not naming the option).
std::string encode_value(const btf::ValueType& type, std::string_view text);
// The value stored in `bytes` as a person would type it ("0", "true", "RED", "bash").
std::string format_value(const btf::ValueType& type, std::string_view bytes);
// "pid_t (32-bit signed integer)" and the like, for messages and help.
std::string describe_type(const btf::ValueType& type);

struct OptionSpec {
  btf::GlobalVariable var;
  btf::ValueType type;
  std::string long_name;   // without dashes
  std::string short_name;  // one character or empty
  std::string help;
  std::optional<std::string> default_text;  // @cmdarg default, applied when the option is absent
  std::string current;                      // the object's initial value, shown in help
};

struct GlobalSetting {
  btf::GlobalVariable var;
  std::string bytes;
  bool from_default = false;  // an @cmdarg default, not given on the command line
};

// One spec per settable global; `initial_bytes(var)` returns the object's
// initial value of a variable. Globals of types that cannot be typed on a
// command line (structs, arrays of numbers) get no option.
template <typename InitialBytes>
std::vector<OptionSpec> make_option_specs(const package::Meta& meta,
                                          const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals,
                                          InitialBytes&& initial_bytes);
// A global the programs write for user space to read ("role": "result"): it
// is printed at exit, not set from the command line.
bool is_result_global(const package::Meta& meta, const btf::GlobalVariable& var);
OptionSpec make_option_spec(const package::Meta& meta, const btf::GlobalVariable& var, const btf::ValueType& type,
                            std::string_view initial);

class ProgramOptions {
 public:
  ProgramOptions(std::string usage_name, const package::Meta& meta, std::vector<OptionSpec> specs);

  // Settings for the options given (and @cmdarg defaults for those that were
  // not). std::nullopt means --help was asked for: `help()` has what to print.
  // Throws ecli::Error for unknown options and bad values.
  std::optional<std::vector<GlobalSetting>> parse(const std::vector<std::string>& args) const;
  std::string help() const;
  const std::vector<OptionSpec>& specs() const { return specs_; }

 private:
  std::string usage_name_;
  std::string description_;
  std::string footer_;
  std::vector<OptionSpec> specs_;
};

template <typename InitialBytes>
std::vector<OptionSpec> make_option_specs(const package::Meta& meta,
                                          const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals,
                                          InitialBytes&& initial_bytes) {
  std::vector<OptionSpec> out;
  for (const auto& [var, type] : globals) {
    if (type.kind == btf::ValueKind::Unsupported || is_result_global(meta, var)) continue;
    out.push_back(make_option_spec(meta, var, type, initial_bytes(var)));
  }
  return out;
}

}  // namespace ecli::runtime
