#include "output/value_format.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "symbols/kallsyms.hpp"
#include "util/error.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;

constexpr std::pair<ValueFormat, std::string_view> kNames[] = {
    {ValueFormat::Ipv4, "ipv4"},     {ValueFormat::Ipv6, "ipv6"},   {ValueFormat::Ip, "ip"},
    {ValueFormat::Port, "port"},     {ValueFormat::Errno, "errno"}, {ValueFormat::Signal, "signal"},
    {ValueFormat::OpenFlags, "open_flags"}, {ValueFormat::Ksym, "ksym"}, {ValueFormat::Hex, "hex"},
    {ValueFormat::Ns, "ns"},         {ValueFormat::Us, "us"},       {ValueFormat::Ms, "ms"},
};

bool is_integer(const FieldPlan& f) {
  return f.kind == FieldKind::Signed || f.kind == FieldKind::Unsigned || f.kind == FieldKind::Enum ||
         f.kind == FieldKind::Bool || f.kind == FieldKind::Char;
}

bool lower_contains(std::string_view name, std::string_view part) {
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return lower.find(part) != std::string::npos;
}

bool is_family_name(std::string_view name) {
  return name == "af" || name == "family" || (name.size() > 7 && name.ends_with("_family"));
}

// A struct with a union of addresses names them inside an anonymous member ("_2").
bool is_anonymous(const FieldPlan& f) {
  return f.kind == FieldKind::Struct && f.c_type.ends_with("{...}");
}

bool is_byte_array(const FieldPlan& f, uint32_t count) {
  return f.kind == FieldKind::Array && f.element && f.element->size == 1 && f.count == count &&
         (f.element->kind == FieldKind::Unsigned || f.element->kind == FieldKind::Signed);
}

void auto_rules(std::vector<FieldPlan>& fields, bool has_family, int32_t family_offset, uint8_t family_size) {
  for (const auto& f : fields) {
    if (is_family_name(f.name) && !f.bit_size && f.size >= 1 && f.size <= 4 &&
        (f.kind == FieldKind::Unsigned || f.kind == FieldKind::Signed || f.kind == FieldKind::Enum)) {
      has_family = true;
      family_offset = static_cast<int32_t>(f.offset);
      family_size = static_cast<uint8_t>(f.size);
    }
  }
  for (auto& f : fields) {
    if (f.bit_size) continue;
    bool addr = lower_contains(f.name, "addr");
    bool v6 = addr && lower_contains(f.name, "6");
    ValueFormat chosen = ValueFormat::None;
    if (f.c_type == "struct in6_addr") {
      chosen = ValueFormat::Ipv6;
    } else if (addr && ((f.c_type == "__be32" && f.kind == FieldKind::Unsigned) || is_byte_array(f, 4))) {
      chosen = has_family ? ValueFormat::Ip : ValueFormat::Ipv4;
    } else if (addr && (is_byte_array(f, 16) || f.kind == FieldKind::Unsigned128)) {
      chosen = v6 ? ValueFormat::Ipv6 : has_family ? ValueFormat::Ip : ValueFormat::None;
    } else if (f.c_type == "__be16" && f.kind == FieldKind::Unsigned && lower_contains(f.name, "port")) {
      chosen = ValueFormat::Port;
    }
    if (chosen != ValueFormat::None) {
      f.format = chosen;
      if (chosen == ValueFormat::Ip && has_family) {
        f.family_offset = family_offset;
        f.family_size = family_size;
      }
    } else if (f.kind == FieldKind::Struct) {
      // A nested struct has its own family; an anonymous union of addresses shares ours.
      bool share = is_anonymous(f) && has_family;
      auto_rules(f.members, share, family_offset - static_cast<int32_t>(f.offset), family_size);
    }
  }
}

FieldPlan* find_path(std::vector<FieldPlan>& fields, std::string_view path) {
  size_t dot = path.find('.');
  std::string_view head = path.substr(0, dot);
  for (auto& f : fields) {
    if (f.name != head) continue;
    if (dot == std::string_view::npos) return &f;
    if (f.kind == FieldKind::Struct) return find_path(f.members, path.substr(dot + 1));
    return nullptr;
  }
  return nullptr;
}

// The nearest af/family member of the struct holding `target` (for `ip` asked for by name).
void attach_family(std::vector<FieldPlan>& fields, FieldPlan& target, int32_t base_shift) {
  for (auto& f : fields) {
    if (&f == &target) {
      for (auto& g : fields)
        if (is_family_name(g.name) && !g.bit_size && g.size >= 1 && g.size <= 4 && &g != &target) {
          target.family_offset = static_cast<int32_t>(g.offset) + base_shift;
          target.family_size = static_cast<uint8_t>(g.size);
        }
      return;
    }
    if (f.kind == FieldKind::Struct) attach_family(f.members, target, 0);
  }
}

void apply_annotations(std::vector<FieldPlan>& fields, const std::string& type_name, FieldFormats& formats) {
  auto it = formats.annotated.find(type_name);
  for (auto& f : fields) {
    if (it != formats.annotated.end()) {
      auto kind = it->second.find(f.name);
      if (kind != it->second.end()) {
        auto format = parse_value_format(kind->second);
        std::string why = format ? format_misfit(f, *format) : "";
        if (!format) {
          formats.warnings.push_back("@format " + kind->second + " on " + type_name + "." + f.name +
                                     " is not a format (" + value_format_names() + "); ignored");
        } else if (!why.empty()) {
          formats.warnings.push_back("@format " + kind->second + " on " + type_name + "." + f.name + ": " + why +
                                     "; ignored");
        } else {
          f.format = *format;
          if (*format == ValueFormat::Ip && !f.family_size) attach_family(fields, f, 0);
        }
      }
    }
    // The members of an anonymous struct or union belong to the named struct around them.
    if (f.kind == FieldKind::Struct) apply_annotations(f.members, is_anonymous(f) ? type_name : f.c_type, formats);
  }
}

// Durations: the largest unit in which the value is at least 1, four significant digits.
void append_duration(Buffer& out, int64_t value, ValueFormat unit) {
  double ns = static_cast<double>(value) * (unit == ValueFormat::Ms ? 1e6 : unit == ValueFormat::Us ? 1e3 : 1);
  double magnitude = std::fabs(ns);
  if (magnitude < 1e3 && unit == ValueFormat::Ns) {
    fmt::format_to(std::back_inserter(out), "{}ns", value);
  } else if (magnitude < 1e6) {
    fmt::format_to(std::back_inserter(out), "{:.4g}us", ns / 1e3);
  } else if (magnitude < 1e9) {
    fmt::format_to(std::back_inserter(out), "{:.4g}ms", ns / 1e6);
  } else if (magnitude < 1e12) {
    fmt::format_to(std::back_inserter(out), "{:.4g}s", ns / 1e9);
  } else {
    fmt::format_to(std::back_inserter(out), "{:.0f}s", ns / 1e9);
  }
}

// Linux's generic open(2) flag values (x86, and most architectures).
struct Flag {
  uint64_t bits;
  std::string_view name;
};
constexpr Flag kOpenFlags[] = {
    {00000100, "O_CREAT"},     {00000200, "O_EXCL"},      {00000400, "O_NOCTTY"},    {00001000, "O_TRUNC"},
    {00002000, "O_APPEND"},    {00004000, "O_NONBLOCK"},  {04010000, "O_SYNC"},      {00010000, "O_DSYNC"},
    {00020000, "O_ASYNC"},     {00040000, "O_DIRECT"},    {00100000, "O_LARGEFILE"},
    {020200000, "O_TMPFILE"},  {00200000, "O_DIRECTORY"}, {00400000, "O_NOFOLLOW"},  {01000000, "O_NOATIME"},
    {02000000, "O_CLOEXEC"},   {010000000, "O_PATH"},
};

void append_open_flags(Buffer& out, uint64_t v) {
  static constexpr std::string_view modes[] = {"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"};
  append(out, modes[v & 3]);
  uint64_t rest = v & ~uint64_t(3);
  for (const auto& flag : kOpenFlags) {
    if ((rest & flag.bits) != flag.bits) continue;
    out.push_back('|');
    append(out, flag.name);
    rest &= ~flag.bits;
  }
  if (rest) fmt::format_to(std::back_inserter(out), "|0x{:x}", rest);
}

void append_address(Buffer& out, int family, const uint8_t* p, Style style) {
  char text[INET6_ADDRSTRLEN];
  if (!inet_ntop(family, p, text, sizeof text)) text[0] = 0;
  if (style == Style::Json) out.push_back('"');
  append(out, text);
  if (style == Style::Json) out.push_back('"');
}

void append_quoted(Buffer& out, std::string_view prefix, std::string_view text, Style style) {
  if (style == Style::Json) out.push_back('"');
  append(out, prefix);
  append(out, text);
  if (style == Style::Json) out.push_back('"');
}

}  // namespace

std::optional<ValueFormat> parse_value_format(std::string_view name) {
  for (auto [format, text] : kNames)
    if (text == name) return format;
  return std::nullopt;
}

std::string_view value_format_name(ValueFormat format) {
  for (auto [f, text] : kNames)
    if (f == format) return text;
  return "none";
}

std::string value_format_names() {
  std::string out;
  for (auto [f, text] : kNames) out += (out.empty() ? "" : ", ") + std::string(text);
  return out;
}

std::string format_misfit(const FieldPlan& f, ValueFormat format) {
  std::string name(value_format_name(format));
  auto bytes = [&](const char* need) {
    return fmt::format("{} needs {}, and {} has {} byte{}", name, need, f.name, f.size, f.size == 1 ? "" : "s");
  };
  if (f.size == 0) return fmt::format("{} cannot be decoded", f.name);
  bool bitfield = f.bit_size != 0;
  bool address = format == ValueFormat::Ipv4 || format == ValueFormat::Ipv6 || format == ValueFormat::Ip;
  if (address && f.kind != FieldKind::Unsigned && f.kind != FieldKind::Signed && f.kind != FieldKind::Unsigned128 &&
      f.kind != FieldKind::Signed128 && f.kind != FieldKind::Array && f.kind != FieldKind::Unknown &&
      f.kind != FieldKind::Struct)
    return fmt::format("{} needs an address, and {} is {}", name, f.name, f.c_type);
  switch (format) {
    case ValueFormat::None:
      return {};
    case ValueFormat::Ipv4:
      return f.size == 4 && !bitfield ? "" : bytes("4 bytes");
    case ValueFormat::Ipv6:
      return f.size == 16 && !bitfield ? "" : bytes("16 bytes");
    case ValueFormat::Ip:
      return (f.size == 4 || f.size == 16) && !bitfield ? "" : bytes("4 or 16 bytes");
    case ValueFormat::Port:
      return f.size == 2 && !bitfield && is_integer(f) ? "" : bytes("a 2-byte integer");
    case ValueFormat::Ksym:
      return (f.size == 8 && is_integer(f)) || f.kind == FieldKind::Pointer ? "" : bytes("an 8-byte address");
    case ValueFormat::Hex:
      return f.kind == FieldKind::Float || f.kind == FieldKind::Struct
                 ? fmt::format("hex needs an integer or bytes, and {} is {}", f.name, f.c_type)
                 : "";
    case ValueFormat::Errno:
    case ValueFormat::Signal:
    case ValueFormat::OpenFlags:
    case ValueFormat::Ns:
    case ValueFormat::Us:
    case ValueFormat::Ms:
      return is_integer(f) && f.size <= 8 ? "" : fmt::format("{} needs an integer, and {} is {}", name, f.name, f.c_type);
  }
  return {};
}

void choose_auto_formats(std::vector<FieldPlan>& fields) { auto_rules(fields, false, 0, 0); }

FieldFormats parse_field_formats(const std::vector<std::string>& arguments,
                                 const nlohmann::ordered_json& meta_field_formats) {
  FieldFormats out;
  for (const auto& argument : arguments) {
    size_t eq = argument.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == argument.size())
      throw Error("--format " + argument + ": expected FIELD=KIND, e.g. --format saddr=ipv4");
    auto format = parse_value_format(std::string_view(argument).substr(eq + 1));
    if (!format)
      throw Error("--format " + argument + ": '" + argument.substr(eq + 1) + "' is not a format (" +
                  value_format_names() + ")");
    out.requests.push_back({argument, argument.substr(0, eq), *format, false});
  }
  if (meta_field_formats.is_object()) {
    for (const auto& [type, fields] : meta_field_formats.items()) {
      if (!fields.is_object()) continue;
      for (const auto& [field, kind] : fields.items())
        if (kind.is_string()) out.annotated[type][field] = kind.get<std::string>();
    }
  }
  return out;
}

void apply_formats(btf::RenderPlan& plan, std::string_view scope, FieldFormats& formats,
                   std::string_view scalar_name) {
  choose_auto_formats(plan.fields);
  apply_annotations(plan.fields, plan.type_name, formats);
  bool scalar = !scalar_name.empty() && plan.fields.size() == 1 && plan.fields[0].name == "value" &&
                !plan.type_name.starts_with("struct ") && !plan.type_name.starts_with("union ");
  auto global = formats.globals.find(std::string(scope));
  if (scalar && scalar_name == "value" && global != formats.globals.end()) {
    auto format = parse_value_format(global->second);
    std::string why = format ? format_misfit(plan.fields[0], *format) : "";
    if (!format)
      formats.warnings.push_back("@format " + global->second + " on " + global->first + " is not a format (" +
                                 value_format_names() + "); ignored");
    else if (!why.empty())
      formats.warnings.push_back("@format " + global->second + " on " + global->first + ": " + why + "; ignored");
    else
      plan.fields[0].format = *format;
  }
  auto find = [&](std::string_view path) -> FieldPlan* {
    if (scalar) return path == scalar_name ? &plan.fields[0] : nullptr;
    return find_path(plan.fields, path);
  };
  for (auto& request : formats.requests) {
    std::string_view path = request.field;
    FieldPlan* f = nullptr;
    if (path.size() > scope.size() && path.starts_with(scope) && path[scope.size()] == '.')
      f = find(path.substr(scope.size() + 1));
    if (!f) f = find(path);
    if (!f) continue;
    request.matched = true;
    std::string why = format_misfit(*f, request.format);
    if (!why.empty()) {
      formats.warnings.push_back("--format " + request.text + ": " + why + "; printed as usual");
      continue;
    }
    f->format = request.format;
    if (request.format == ValueFormat::Ip && !f->family_size) attach_family(plan.fields, *f, 0);
  }
}

std::vector<std::string> unmatched_requests(const FieldFormats& formats) {
  std::vector<std::string> out;
  for (const auto& r : formats.requests)
    if (!r.matched) out.push_back("--format " + r.text + ": no event or map has a field " + r.field + "; ignored");
  return out;
}

int format_width(ValueFormat format) {
  switch (format) {
    case ValueFormat::Ipv4:
    case ValueFormat::Ip:
      return 15;
    case ValueFormat::Ipv6:
      return 25;
    case ValueFormat::Port:
      return 5;
    case ValueFormat::Errno:
    case ValueFormat::Signal:
      return 8;
    case ValueFormat::OpenFlags:
      return 18;
    case ValueFormat::Ksym:
      return 24;
    case ValueFormat::Hex:
      return 10;
    case ValueFormat::Ns:
    case ValueFormat::Us:
    case ValueFormat::Ms:
      return 8;
    case ValueFormat::None:
      return 0;
  }
  return 0;
}

bool append_formatted(Buffer& out, const FieldPlan& f, const uint8_t* base, size_t avail, Style style) {
  const uint8_t* p = base + f.offset;
  switch (f.format) {
    case ValueFormat::None:
      return false;
    case ValueFormat::Ipv4:
      if (f.size != 4) return false;
      append_address(out, AF_INET, p, style);
      return true;
    case ValueFormat::Ipv6:
      if (f.size != 16) return false;
      append_address(out, AF_INET6, p, style);
      return true;
    case ValueFormat::Ip: {
      int64_t family = -1;
      if (f.family_size && (f.family_offset < 0 || size_t(f.family_offset) + f.family_size <= avail)) {
        uint64_t raw = 0;
        std::memcpy(&raw, base + f.family_offset, f.family_size);
        family = static_cast<int64_t>(raw);
      }
      if (family == AF_INET || (family != AF_INET6 && f.size == 4)) {
        append_address(out, AF_INET, p, style);  // a 16-byte field holds an IPv4 address in its first 4
      } else if (f.size == 16) {
        append_address(out, AF_INET6, p, style);
      } else if (style == Style::Json) {
        append(out, "null");  // a 4-byte field of an AF_INET6 event holds no address
      } else {
        out.push_back('-');
      }
      return true;
    }
    case ValueFormat::Port:
      if (f.size != 2) return false;
      fmt::format_to(std::back_inserter(out), "{}", ntohs(static_cast<uint16_t>(load_unsigned(f, p))));
      return true;
    case ValueFormat::Errno: {
      int64_t v = load_signed(f, p);
      const char* name = v < 0 && v > -4096 ? strerrorname_np(static_cast<int>(-v)) : nullptr;
      if (name) append_quoted(out, "-", name, style);
      else fmt::format_to(std::back_inserter(out), "{}", v);
      return true;
    }
    case ValueFormat::Signal: {
      int64_t v = load_signed(f, p);
      const char* name = v > 0 && v < 65 ? sigabbrev_np(static_cast<int>(v)) : nullptr;
      if (name) append_quoted(out, "SIG", name, style);
      else fmt::format_to(std::back_inserter(out), "{}", v);
      return true;
    }
    case ValueFormat::OpenFlags:
      if (style == Style::Json) out.push_back('"');
      append_open_flags(out, load_unsigned(f, p));
      if (style == Style::Json) out.push_back('"');
      return true;
    case ValueFormat::Ksym: {
      uint64_t address = load_unsigned(f, p);
      auto symbol = symbols::Kallsyms::instance().lookup(address);
      if (style == Style::Json) out.push_back('"');
      if (symbol) fmt::format_to(std::back_inserter(out), "{}+0x{:x}", symbol->name, symbol->offset);
      else fmt::format_to(std::back_inserter(out), "0x{:x}", address);
      if (style == Style::Json) out.push_back('"');
      return true;
    }
    case ValueFormat::Hex: {
      if (style == Style::Json) out.push_back('"');
      bool integer = is_integer(f) || f.kind == FieldKind::Pointer;
      if (integer && f.size <= 8) {
        fmt::format_to(std::back_inserter(out), "0x{:x}", load_unsigned(f, p));
      } else {
        append(out, "0x");  // bytes in memory order
        for (uint32_t i = 0; i < f.size; i++) fmt::format_to(std::back_inserter(out), "{:02x}", p[i]);
      }
      if (style == Style::Json) out.push_back('"');
      return true;
    }
    case ValueFormat::Ns:
    case ValueFormat::Us:
    case ValueFormat::Ms: {
      bool is_signed = f.kind == FieldKind::Signed;
      if (style == Style::Json) {  // JSON keeps the number, in the field's unit
        if (is_signed) fmt::format_to(std::back_inserter(out), "{}", load_signed(f, p));
        else fmt::format_to(std::back_inserter(out), "{}", load_unsigned(f, p));
      } else {
        uint64_t raw = load_unsigned(f, p);
        int64_t v = is_signed ? load_signed(f, p) : static_cast<int64_t>(std::min<uint64_t>(raw, INT64_MAX));
        append_duration(out, v, f.format);
      }
      return true;
    }
  }
  return false;
}

}  // namespace ecli::output
