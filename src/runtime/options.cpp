#include "runtime/options.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstring>

#include "util/error.hpp"

namespace ecli::runtime {
namespace {

using btf::ValueKind;
using btf::ValueType;

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

enum class IntParse { Ok, Invalid, Overflow };

// Parses an integer with an optional sign and 0x/0o/0b prefix; the whole text must be used.
IntParse parse_integer(std::string_view text, bool& negative, uint64_t& magnitude) {
  negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0') {
    char p = static_cast<char>(tolower(static_cast<unsigned char>(text[1])));
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 10;
    if (base != 10) text.remove_prefix(2);
  }
  if (text.empty()) return IntParse::Invalid;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (ptr != text.data() + text.size()) return IntParse::Invalid;
  if (ec == std::errc::result_out_of_range) return IntParse::Overflow;
  return ec == std::errc() ? IntParse::Ok : IntParse::Invalid;
}

std::string range_text(const ValueType& type) {
  unsigned bits = type.size * 8;
  if (type.is_signed) {
    int64_t min = bits == 64 ? INT64_MIN : -(int64_t(1) << (bits - 1));
    int64_t max = bits == 64 ? INT64_MAX : (int64_t(1) << (bits - 1)) - 1;
    return fmt::format("{}..{}", min, max);
  }
  uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
  return fmt::format("0..{}", max);
}

// Integer text to bytes, range-checked for the type's width and signedness.
std::string encode_integer(const ValueType& type, std::string_view text) {
  bool negative;
  uint64_t magnitude;
  IntParse parsed = parse_integer(text, negative, magnitude);
  if (parsed == IntParse::Invalid)
    throw Error(fmt::format("'{}' is not an integer (expected {})", text, describe_type(type)));
  unsigned bits = type.size * 8;
  bool in_range = parsed == IntParse::Ok;
  if (type.is_signed) {
    uint64_t limit = uint64_t(1) << (bits - 1);  // |min|; max is limit - 1
    in_range = in_range && (negative ? magnitude <= limit : magnitude < limit);
  } else {
    uint64_t max = bits == 64 ? UINT64_MAX : (uint64_t(1) << bits) - 1;
    in_range = in_range && (!negative || magnitude == 0) && magnitude <= max;
  }
  if (!in_range)
    throw Error(fmt::format("'{}' is out of range for {} ({})", text, describe_type(type), range_text(type)));
  uint64_t raw = negative ? uint64_t(0) - magnitude : magnitude;
  std::string out(type.size, '\0');
  std::memcpy(out.data(), &raw, type.size);  // little-endian host: the low bytes
  return out;
}

bool parse_bool(std::string_view text, bool& value) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return value = true, true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return value = false, true;
  return false;
}

int64_t load_signed(std::string_view bytes, uint32_t size) {
  uint64_t raw = 0;
  std::memcpy(&raw, bytes.data(), std::min<size_t>(size, bytes.size()));
  if (size < 8 && (raw >> (size * 8 - 1)) & 1) raw |= ~uint64_t(0) << (size * 8);
  return static_cast<int64_t>(raw);
}

uint64_t load_unsigned(std::string_view bytes, uint32_t size) {
  uint64_t raw = 0;
  std::memcpy(&raw, bytes.data(), std::min<size_t>(size, bytes.size()));
  return raw;
}

std::string json_to_text(const package::Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

}  // namespace

std::string describe_type(const ValueType& type) {
  switch (type.kind) {
    case ValueKind::Integer:
      return fmt::format("{} ({}-bit {} integer)", type.c_name, type.size * 8, type.is_signed ? "signed" : "unsigned");
    case ValueKind::Bool:
      return type.c_name + " (true or false)";
    case ValueKind::Enum: {
      std::string names;
      for (auto& [name, value] : type.enumerators) names += (names.empty() ? "" : ", ") + name;
      return fmt::format("{} (one of {} or a number)", type.c_name, names);
    }
    case ValueKind::String:
      return fmt::format("{} (text of at most {} bytes)", type.c_name, type.size ? type.size - 1 : 0);
    case ValueKind::Float:
      return type.c_name + " (a number)";
    case ValueKind::Unsupported:
      break;
  }
  return type.c_name;
}

std::string encode_value(const ValueType& type, std::string_view text) {
  switch (type.kind) {
    case ValueKind::Integer:
      return encode_integer(type, trim(text));
    case ValueKind::Bool: {
      bool value;
      if (!parse_bool(trim(text), value)) throw Error(fmt::format("'{}' is not true or false", text));
      std::string out(type.size, '\0');
      out[0] = value ? 1 : 0;
      return out;
    }
    case ValueKind::Enum: {
      std::string t = trim(text);
      for (auto& [name, value] : type.enumerators) {
        if (name == t) {
          std::string out(type.size, '\0');
          std::memcpy(out.data(), &value, type.size);
          return out;
        }
      }
      bool negative;
      uint64_t magnitude;
      if (parse_integer(t, negative, magnitude) == IntParse::Invalid)
        throw Error(fmt::format("'{}' is not a value of {}", text, describe_type(type)));
      ValueType as_int = type;
      as_int.kind = ValueKind::Integer;
      try {
        return encode_integer(as_int, t);
      } catch (const Error&) {
        throw Error(fmt::format("'{}' is out of range for {}", text, describe_type(type)));
      }
    }
    case ValueKind::String: {
      if (type.size == 0 || text.size() > type.size - 1)
        throw Error(fmt::format("'{}' is {} bytes long but {} holds at most {}", text, text.size(), type.c_name,
                                type.size ? type.size - 1 : 0));
      if (text.find('\0') != std::string_view::npos) throw Error("text values cannot contain NUL bytes");
      std::string out(type.size, '\0');
      std::memcpy(out.data(), text.data(), text.size());
      return out;
    }
    case ValueKind::Float: {
      std::string t = trim(text);
      char* end = nullptr;
      errno = 0;
      double value = std::strtod(t.c_str(), &end);
      if (t.empty() || *end != '\0' || !std::isfinite(value))
        throw Error(fmt::format("'{}' is not a number (expected {})", text, describe_type(type)));
      std::string out(type.size, '\0');
      if (type.size == 4) {
        float f = static_cast<float>(value);
        std::memcpy(out.data(), &f, 4);
      } else {
        std::memcpy(out.data(), &value, 8);
      }
      return out;
    }
    case ValueKind::Unsupported:
      break;
  }
  throw Error(type.c_name + " values cannot be given on the command line");
}

std::string format_value(const ValueType& type, std::string_view bytes) {
  if (bytes.size() < type.size) return "?";
  switch (type.kind) {
    case ValueKind::Integer:
      return type.is_signed ? std::to_string(load_signed(bytes, type.size))
                            : std::to_string(load_unsigned(bytes, type.size));
    case ValueKind::Bool:
      return load_unsigned(bytes, type.size) ? "true" : "false";
    case ValueKind::Enum: {
      int64_t v = type.is_signed ? load_signed(bytes, type.size) : int64_t(load_unsigned(bytes, type.size));
      for (auto& [name, value] : type.enumerators)
        if (value == v) return name;
      return std::to_string(v);
    }
    case ValueKind::String:
      return std::string(bytes.data(), strnlen(bytes.data(), type.size));
    case ValueKind::Float: {
      if (type.size == 4) {
        float f;
        std::memcpy(&f, bytes.data(), 4);
        return fmt::format("{}", f);
      }
      double d;
      std::memcpy(&d, bytes.data(), 8);
      return fmt::format("{}", d);
    }
    case ValueKind::Unsupported:
      break;
  }
  return "?";
}

bool is_result_global(const package::Meta& meta, const btf::GlobalVariable& var) {
  for (const auto& section : meta.data_sections) {
    if (section.name != var.section) continue;
    for (const auto& v : section.variables)
      // find(), not value(): a "role" that is not a string is just not "result" (found by fuzz_meta).
      if (v.name == var.name && v.extra.is_object())
        if (auto role = v.extra.find("role"); role != v.extra.end() && *role == "result") return true;
  }
  return false;
}

OptionSpec make_option_spec(const package::Meta& meta, const btf::GlobalVariable& var, const ValueType& type,
                            std::string_view initial) {
  OptionSpec spec;
  spec.var = var;
  spec.type = type;
  spec.long_name = var.name;
  spec.current = format_value(type, initial);
  // Doc comment and @cmdarg come from the package's data_sections entry.
  for (const auto& section : meta.data_sections) {
    if (section.name != var.section) continue;
    for (const auto& v : section.variables) {
      if (v.name != var.name) continue;
      spec.help = v.description;
      const auto& cmdarg = v.cmdarg;
      if (cmdarg.is_object()) {
        if (auto it = cmdarg.find("long"); it != cmdarg.end() && it->is_string() && !it->get<std::string>().empty())
          spec.long_name = it->get<std::string>();
        if (auto it = cmdarg.find("short"); it != cmdarg.end() && it->is_string() && it->get<std::string>().size() == 1)
          spec.short_name = it->get<std::string>();
        if (auto it = cmdarg.find("help"); it != cmdarg.end() && it->is_string()) spec.help = it->get<std::string>();
        if (auto it = cmdarg.find("default"); it != cmdarg.end() && !it->is_null())
          spec.default_text = json_to_text(*it);
      }
    }
  }
  while (spec.long_name.starts_with('-')) spec.long_name.erase(0, 1);
  if (spec.help.empty()) spec.help = "set " + var.name + " (" + var.section + ")";
  return spec;
}

namespace {

// The CLI11 app for a program: one option per spec, values captured as text
// and converted by encode_value so that messages name the C type.
std::vector<CLI::Option*> add_options(CLI::App& app, const std::vector<OptionSpec>& specs,
                                      std::vector<std::string>& values) {
  app.set_help_flag("-h,--help", "Print this help message and exit");
  values.assign(specs.size(), {});
  std::vector<CLI::Option*> options;
  for (size_t i = 0; i < specs.size(); i++) {
    const OptionSpec& spec = specs[i];
    std::string names = (spec.short_name.empty() ? "" : "-" + spec.short_name + ",") + "--" + spec.long_name;
    CLI::Option* opt = nullptr;
    try {
      opt = app.add_option(names, values[i], spec.help);
    } catch (const CLI::ConstructionError& e) {  // a name taken twice, or not a name (@cmdarg)
      throw Error(fmt::format("malformed package: global '{}' cannot be the option {}: {}", spec.var.name, names,
                              e.what()));
    }
    std::string shown = " [" + spec.default_text.value_or(spec.current) + "]";
    if (spec.type.kind == btf::ValueKind::Bool) {
      opt->expected(0, 1);  // `--flag` alone means true; `--flag=false` also works
      opt->option_text(shown.substr(1));
    } else {
      opt->option_text(spec.type.c_name + shown);
    }
    options.push_back(opt);
  }
  return options;
}

}  // namespace

ProgramOptions::ProgramOptions(std::string usage_name, const package::Meta& meta, std::vector<OptionSpec> specs)
    : usage_name_(std::move(usage_name)), specs_(std::move(specs)) {
  if (meta.doc) {
    for (const std::string* part : {&meta.doc->brief, &meta.doc->details, &meta.doc->description})
      if (!part->empty()) description_ += (description_.empty() ? "" : "\n\n") + *part;
    if (!meta.doc->version.empty()) footer_ = "Version: " + meta.doc->version;
  }
  // Names the package got wrong are its fault, not the command line's: said here, before any parse.
  CLI::App app;
  std::vector<std::string> values;
  add_options(app, specs_, values);
}

std::optional<std::vector<GlobalSetting>> ProgramOptions::parse(const std::vector<std::string>& args) const {
  CLI::App app(description_, usage_name_);
  app.footer(footer_);
  std::vector<std::string> values;
  std::vector<CLI::Option*> options = add_options(app, specs_, values);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 consumes from the back
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    return std::nullopt;
  } catch (const CLI::ExtrasError&) {
    std::string extras;
    for (auto& a : app.remaining()) extras += (extras.empty() ? "" : " ") + a;
    throw Error(fmt::format("unknown program option {} (see `{} --help`)", extras, usage_name_));
  } catch (const CLI::ParseError& e) {
    throw Error(fmt::format("{} (see `{} --help`)", e.what(), usage_name_));
  }
  std::vector<GlobalSetting> settings;
  for (size_t i = 0; i < specs_.size(); i++) {
    const OptionSpec& spec = specs_[i];
    std::optional<std::string> text;
    if (options[i]->count() > 0) {
      text = values[i];
      if (spec.type.kind == btf::ValueKind::Bool && text->empty()) text = "true";
    } else if (spec.default_text) {
      text = spec.default_text;
    }
    if (!text) continue;
    try {
      settings.push_back({spec.var, encode_value(spec.type, *text), options[i]->count() == 0});
    } catch (const Error& e) {
      throw Error(fmt::format("invalid value for --{}: {}", spec.long_name, e.what()));
    }
  }
  return settings;
}

std::string ProgramOptions::help() const {
  CLI::App app(description_, usage_name_);
  app.footer(footer_);
  std::vector<std::string> values;
  add_options(app, specs_, values);
  return app.help();
}

}  // namespace ecli::runtime
