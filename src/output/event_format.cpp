#include "output/event_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "output/stack_records.hpp"
#include "output/value_format.hpp"
#include "util/error.hpp"

namespace ecli::output {
namespace {

using btf::FieldKind;
using btf::FieldPlan;

// Bitfields are read through 128 bits, so a field that straddles 8 bytes
// (bit offset 5, 64 bits wide) and __int128 bitfields keep every bit.
unsigned __int128 load_wide(const FieldPlan& f, const uint8_t* p) {
  unsigned __int128 raw = 0;
  std::memcpy(&raw, p, std::min<size_t>(f.size, 16));
  if (f.bit_size) {
    raw >>= f.bit_offset;
    if (f.bit_size < 128) raw &= (static_cast<unsigned __int128>(1) << f.bit_size) - 1;
  }
  return raw;
}

uint64_t load_bits(const FieldPlan& f, const uint8_t* p) {
  if (f.bit_size && f.bit_offset + f.bit_size > 64) return static_cast<uint64_t>(load_wide(f, p));
  uint64_t raw = 0;
  std::memcpy(&raw, p, std::min<size_t>(f.size, 8));
  if (f.bit_size) {
    raw >>= f.bit_offset;
    if (f.bit_size < 64) raw &= (uint64_t(1) << f.bit_size) - 1;
  }
  return raw;
}

int64_t sign_extend(uint64_t raw, unsigned bits) {
  if (bits >= 64 || bits == 0) return static_cast<int64_t>(raw);
  uint64_t sign = uint64_t(1) << (bits - 1);
  return static_cast<int64_t>((raw ^ sign) - sign);
}

// 16-byte integers in hex, trimmed: 0x0, 0x1f, 0xffffffffffffffffffffffffffffffff;
// negative signed values as -0x5. The same text in table, CSV and (quoted) JSON.
void append_hex128(Buffer& out, unsigned __int128 magnitude, bool negative) {
  uint64_t high = static_cast<uint64_t>(magnitude >> 64), low = static_cast<uint64_t>(magnitude);
  if (high)
    fmt::format_to(std::back_inserter(out), "{}0x{:x}{:016x}", negative ? "-" : "", high, low);
  else
    fmt::format_to(std::back_inserter(out), "{}0x{:x}", negative ? "-" : "", low);
}

void append_int128(Buffer& out, const FieldPlan& f, const uint8_t* p) {
  unsigned __int128 raw = load_wide(f, p);
  unsigned bits = f.bit_size ? f.bit_size : 128;
  bool negative = false;
  if (f.kind == FieldKind::Signed128 && bits > 0 && ((raw >> (bits - 1)) & 1)) {
    if (bits < 128) raw |= ~static_cast<unsigned __int128>(0) << bits;  // sign-extend
    negative = true;
    raw = ~raw + 1;  // the magnitude, also for the most negative value
  }
  append_hex128(out, raw, negative);
}

// What a field prints when it cannot be decoded (it lies outside the event,
// or its type could not be planned): the rest of the row is unaffected.
void append_placeholder(Buffer& out, Style style) {
  if (style == Style::Json) append(out, "null");
  else out.push_back('?');
}

unsigned value_bits(const FieldPlan& f) { return f.bit_size ? f.bit_size : f.size * 8; }

// Text with non-printable bytes escaped, so a row stays one line.
void append_text(Buffer& out, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else if (c == '\\') {
      append(out, "\\\\");
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      char esc[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
      out.append(esc, esc + 4);
    }
  }
}

void append_int(Buffer& out, int64_t v) {
  fmt::format_int f(v);
  out.append(f.data(), f.data() + f.size());
}
void append_uint(Buffer& out, uint64_t v) {
  fmt::format_int f(v);
  out.append(f.data(), f.data() + f.size());
}

void append_csv_cell(Buffer& out, std::string_view cell) {
  if (cell.find_first_of(",\"\n\r") == std::string_view::npos) {
    append(out, cell);
    return;
  }
  out.push_back('"');
  for (char c : cell) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return s;
}

// A table width that fits typical values of the type.
int default_width(const FieldPlan& f) {
  int header = static_cast<int>(f.name.size());
  int width = 0;
  if (f.format != btf::ValueFormat::None) return std::max(header, format_width(f.format));
  switch (f.kind) {
    case FieldKind::Signed:
    case FieldKind::Unsigned:
      width = f.size <= 1 ? 3 : f.size <= 2 ? 5 : f.size <= 4 ? 7 : 10;
      break;
    case FieldKind::Bool:
      width = 5;
      break;
    case FieldKind::Char:
      width = 1;
      break;
    case FieldKind::String:
      width = static_cast<int>(std::min<uint32_t>(f.size ? f.size - 1 : 0, 16));
      break;
    case FieldKind::Enum:
      for (auto& [v, name] : f.enumerators) width = std::max(width, static_cast<int>(name.size()));
      break;
    case FieldKind::Pointer:
    case FieldKind::Signed128:
    case FieldKind::Unsigned128:
      width = 18;
      break;
    case FieldKind::Float:
      width = 10;
      break;
    default:
      width = 0;
  }
  return std::max(header, width);
}

}  // namespace

uint64_t load_unsigned(const FieldPlan& f, const uint8_t* p) { return load_bits(f, p); }

int64_t load_signed(const FieldPlan& f, const uint8_t* p) { return sign_extend(load_bits(f, p), value_bits(f)); }

void append_json_string(Buffer& out, std::string_view bytes) {
  out.push_back('"');
  size_t i = 0;
  auto escape = [&](unsigned c) { fmt::format_to(std::back_inserter(out), "\\u{:04x}", c); };
  while (i < bytes.size()) {
    uint8_t c = static_cast<uint8_t>(bytes[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      escape(c);
      i++;
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
      i++;
    } else {
      // Keep well-formed UTF-8 sequences; escape any other byte as Latin-1.
      size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
      bool valid = len && i + len <= bytes.size() && !(c == 0xc0 || c == 0xc1 || c > 0xf4);
      for (size_t k = 1; valid && k < len; k++) valid = (static_cast<uint8_t>(bytes[i + k]) & 0xc0) == 0x80;
      if (valid) {
        out.append(bytes.data() + i, bytes.data() + i + len);
        i += len;
      } else {
        escape(c);
        i++;
      }
    }
  }
  out.push_back('"');
}

namespace {

// `p` points at the field itself, `avail` bytes of it are readable (at least f.size).
void append_field(Buffer& out, const FieldPlan& f, const uint8_t* p, Style style, size_t avail) {
  switch (f.kind) {
    case FieldKind::Signed:
      append_int(out, sign_extend(load_bits(f, p), value_bits(f)));
      return;
    case FieldKind::Unsigned:
      append_uint(out, load_bits(f, p));
      return;
    case FieldKind::Bool:
      append(out, load_bits(f, p) ? "true" : "false");
      return;
    case FieldKind::Char:
    case FieldKind::String: {
      size_t n = f.kind == FieldKind::Char ? 1 : strnlen(reinterpret_cast<const char*>(p), f.size);
      if (style == Style::Json)
        append_json_string(out, std::string_view(reinterpret_cast<const char*>(p), n));
      else
        append_text(out, p, n);
      return;
    }
    case FieldKind::Enum: {
      uint64_t raw = load_bits(f, p);
      int64_t v = f.enumerators.empty() || f.enumerators.front().first >= 0 ? int64_t(raw)
                                                                             : sign_extend(raw, value_bits(f));
      auto it = std::lower_bound(f.enumerators.begin(), f.enumerators.end(), v,
                                 [](const auto& e, int64_t x) { return e.first < x; });
      if (it != f.enumerators.end() && it->first == v) {
        if (style == Style::Json) append_json_string(out, it->second);
        else append(out, it->second);
      } else {
        append_int(out, v);
      }
      return;
    }
    case FieldKind::Pointer: {
      uint64_t v = load_bits(f, p);
      if (style == Style::Json) out.push_back('"');
      fmt::format_to(std::back_inserter(out), "0x{:x}", v);
      if (style == Style::Json) out.push_back('"');
      return;
    }
    case FieldKind::Float: {
      double v;
      if (f.size == 4) {
        float x;
        std::memcpy(&x, p, 4);
        v = x;
      } else {
        std::memcpy(&v, p, 8);
      }
      if (style == Style::Json && !std::isfinite(v))
        append(out, "null");  // JSON has no NaN or infinity
      else
        fmt::format_to(std::back_inserter(out), "{}", v);
      return;
    }
    case FieldKind::Struct: {
      out.push_back('{');
      for (size_t i = 0; i < f.members.size(); i++) {
        if (i) append(out, ", ");
        if (style == Style::Json) {
          append_json_string(out, f.members[i].name);
          out.push_back(':');
        } else {
          append(out, f.members[i].name);
          append(out, ": ");
        }
        append_value(out, f.members[i], p, style, avail);
      }
      out.push_back('}');
      return;
    }
    case FieldKind::Array: {
      if (!f.element) throw Error("array without an element plan");
      out.push_back('[');
      for (uint32_t i = 0; i < f.count; i++) {
        if (i) append(out, ", ");
        size_t at = size_t(i) * f.element->size;
        append_value(out, *f.element, p + at, style, avail - std::min(avail, at));
      }
      out.push_back(']');
      return;
    }
    case FieldKind::Signed128:
    case FieldKind::Unsigned128:
      if (style == Style::Json) out.push_back('"');
      append_int128(out, f, p);
      if (style == Style::Json) out.push_back('"');
      return;
    case FieldKind::Unknown: {
      if (f.size == 0) {
        append_placeholder(out, style);
        return;
      }
      if (style == Style::Json) out.push_back('"');
      append(out, "0x");
      // By hand, not fmt per byte: a type of unknown kind can be megabytes
      // (fuzz_render_plan: a 1.7 MB member took seconds per row under ASan).
      static constexpr char kHex[] = "0123456789abcdef";
      size_t at = out.size();
      out.resize(at + 2 * size_t(f.size));
      for (size_t i = 0; i < f.size; i++) {
        out[at + 2 * i] = kHex[p[i] >> 4];
        out[at + 2 * i + 1] = kHex[p[i] & 15];
      }
      if (style == Style::Json) out.push_back('"');
      return;
    }
  }
}

}  // namespace

// A stack field of a table is printed under its row when stacks are resolved.
bool EventWriter::under_row(const FieldPlan& f) const { return stacks_ && f.stack >= 0; }

size_t EventWriter::last_table_column(const StreamFormat& s) const {
  size_t last = 0;
  for (size_t i = 0; i < s.columns.size(); i++)
    if (!under_row(s.plan.fields[s.columns[i]])) last = i;
  return last;
}

void append_value(Buffer& out, const FieldPlan& f, const uint8_t* base, Style style, size_t avail) {
  // A field that is not wholly inside what can be read is not read at all.
  if (f.offset > avail || f.size > avail - f.offset) {
    append_placeholder(out, style);
    return;
  }
  size_t before = out.size();
  try {
    if (f.format != btf::ValueFormat::None && append_formatted(out, f, base, avail, style)) return;
    append_field(out, f, base + f.offset, style, avail - f.offset);
  } catch (const std::exception&) {
    out.resize(before);  // no half-written value
    append_placeholder(out, style);
  }
}

void choose_columns(std::vector<StreamFormat>& streams, const std::vector<std::string>& fields) {
  for (const auto& wanted : fields) {
    bool found = false;
    for (auto& s : streams)
      for (auto& f : s.plan.fields) found |= f.name == wanted;
    if (!found) {
      std::string known;
      for (auto& s : streams)
        for (auto& f : s.plan.fields) known += (known.empty() ? "" : ", ") + f.name;
      throw Error("--fields names '" + wanted + "', which no event has (fields: " + known + ")");
    }
  }
  for (auto& s : streams) {
    s.columns.clear();
    s.widths.clear();
    if (fields.empty()) {
      for (size_t i = 0; i < s.plan.fields.size(); i++) s.columns.push_back(i);
    } else {
      for (const auto& wanted : fields)
        for (size_t i = 0; i < s.plan.fields.size(); i++)
          if (s.plan.fields[i].name == wanted) s.columns.push_back(i);
    }
    for (size_t c : s.columns) s.widths.push_back(default_width(s.plan.fields[c]));
  }
}

EventWriter::EventWriter(Format format, std::vector<StreamFormat> streams, std::string label)
    : format_(format),
      streams_(std::move(streams)),
      several_(streams_.size() > 1),
      label_(label.empty() ? "stream" : label) {
  // A label asked for by name is a JSON key only; tables and CSV already say which map.
  bool json_label_only = !label.empty();
  size_t largest = 0;
  for (auto& s : streams_) {
    stream_width_ = std::max(stream_width_, static_cast<int>(s.name.size()));
    largest = std::max<size_t>(largest, s.plan.size);
  }
  padded_.resize(largest);  // once: rows never allocate
  stream_width_ = std::max(stream_width_, 6);
  json_label_ = json_label_only;
}

void EventWriter::header(Buffer& out) const {
  if (format_ == Format::Json) return;
  for (size_t index = 0; index < streams_.size(); index++) {
    const StreamFormat& s = streams_[index];
    bool containers = container_columns_of(index);
    if (format_ == Format::Csv) {
      append(out, several_ ? "stream,time" : "time");
      if (containers) append(out, ",container_id,container_name");
      for (size_t c : s.columns) {
        out.push_back(',');
        append_csv_cell(out, s.plan.fields[c].name);
      }
    } else {
      if (several_) fmt::format_to(std::back_inserter(out), "{:<{}} ", "STREAM", stream_width_);
      append(out, "TIME    ");
      if (containers)
        fmt::format_to(std::back_inserter(out), " {:<{}} {:<{}}", "CONTAINER_ID", kShortIdLength, "CONTAINER_NAME",
                       container_name_width_);
      size_t last = last_table_column(s);
      for (size_t i = 0; i < s.columns.size(); i++) {
        if (under_row(s.plan.fields[s.columns[i]])) continue;
        out.push_back(' ');
        std::string name = upper(s.plan.fields[s.columns[i]].name);
        if (i < last) fmt::format_to(std::back_inserter(out), "{:<{}}", name, s.widths[i]);
        else append(out, name);
      }
    }
    out.push_back('\n');
  }
}

void EventWriter::row(Buffer& out, std::string_view time, size_t stream, const uint8_t* data, size_t size) const {
  const StreamFormat& s = streams_[stream];
  // A short event is decoded as if zero-padded; never read past the record.
  if (size < s.plan.size) {
    std::memset(padded_.data(), 0, s.plan.size);
    if (size) std::memcpy(padded_.data(), data, size);
    data = padded_.data();
    size = s.plan.size;
  }
  // Containers: looked up once per row, and only when asked for.
  const ContainerLabel* container = nullptr;
  bool container_cells = false;
  if (containers_ && knows_containers(stream)) {
    container = container_of_row(*containers_, container_keys_[stream], data, size);
    if (!container_filter_.empty() && (!container || container->id != container_filter_)) return;
    container_cells = container_columns_;
  }
  switch (format_) {
    case Format::Json: {
      append(out, "{\"time\":\"");
      append(out, time);
      out.push_back('"');
      if (several_ || json_label_) {
        append(out, ",\"");
        append(out, label_);
        append(out, "\":");
        append_json_string(out, s.name);
      }
      if (container_cells) append_container_cells(out, container);
      for (size_t c : s.columns) {
        const FieldPlan& f = s.plan.fields[c];
        out.push_back(',');
        append_json_string(out, f.name);
        out.push_back(':');
        if (stacks_ && f.stack >= 0) append_stack_json(out, stacks_->stack_of(f, data, size));
        else append_value(out, f, data, Style::Json, size);
      }
      append(out, "}\n");
      return;
    }
    case Format::Csv: {
      if (several_) {
        append_csv_cell(out, s.name);
        out.push_back(',');
      }
      append(out, time);
      if (container_cells) append_container_cells(out, container);
      Buffer cell;
      for (size_t c : s.columns) {
        out.push_back(',');
        cell.clear();
        if (stacks_ && s.plan.fields[c].stack >= 0) append_stack_cell(cell, stacks_->stack_of(s.plan.fields[c], data, size));
        else append_value(cell, s.plan.fields[c], data, Style::Text, size);
        append_csv_cell(out, std::string_view(cell.data(), cell.size()));
      }
      out.push_back('\n');
      return;
    }
    case Format::Table: {
      if (several_) fmt::format_to(std::back_inserter(out), "{:<{}} ", s.name, stream_width_);
      append(out, time);
      if (container_cells) append_container_cells(out, container);
      size_t last = last_table_column(s);
      for (size_t i = 0; i < s.columns.size(); i++) {
        if (under_row(s.plan.fields[s.columns[i]])) continue;
        out.push_back(' ');
        size_t before = out.size();
        append_value(out, s.plan.fields[s.columns[i]], data, Style::Text, size);
        if (i < last)
          for (int pad = s.widths[i] - static_cast<int>(out.size() - before); pad > 0; pad--) out.push_back(' ');
      }
      out.push_back('\n');
      if (stacks_) append_stacks_below(out, s, data, size);
      return;
    }
  }
}

void EventWriter::set_containers(ContainerSource* source, bool columns, std::string only_id) {
  containers_ = source;
  container_columns_ = source && columns;
  container_filter_ = source ? std::move(only_id) : std::string();
  container_keys_.clear();
  for (const auto& s : streams_) container_keys_.push_back(source ? find_container_key(s.plan) : ContainerKey{});
  if (source) container_name_width_ = std::max(source->name_width(), static_cast<int>(strlen("CONTAINER_NAME")));
}

bool EventWriter::keeps(size_t stream, const uint8_t* data, size_t size) const {
  if (!containers_ || container_filter_.empty() || !knows_containers(stream)) return true;
  const ContainerLabel* label = container_of_row(*containers_, container_keys_[stream], data, size);
  return label && label->id == container_filter_;
}

// After the time: the id (12 digits in tables, as docker ps) and the name.
// Tables and CSV say "-" for the host and for what cannot be known; JSON says
// "" for the host and null for unknown.
void EventWriter::append_container_cells(Buffer& out, const ContainerLabel* label) const {
  switch (format_) {
    case Format::Json:
      if (!label) {
        append(out, ",\"container_id\":null,\"container_name\":null");
        return;
      }
      append(out, ",\"container_id\":");
      append_json_string(out, label->id);
      append(out, ",\"container_name\":");
      append_json_string(out, label->name);
      return;
    case Format::Csv:
      out.push_back(',');
      append_csv_cell(out, label && !label->id.empty() ? std::string_view(label->id) : "-");
      out.push_back(',');
      append_csv_cell(out, label && !label->name.empty() ? std::string_view(label->name) : "-");
      return;
    case Format::Table: {
      std::string_view id = label && !label->id.empty() ? std::string_view(label->id).substr(0, kShortIdLength) : "-";
      std::string_view name = label && !label->name.empty() ? std::string_view(label->name) : "-";
      fmt::format_to(std::back_inserter(out), " {:<{}} {:<{}}", id, kShortIdLength, name, container_name_width_);
      return;
    }
  }
}

// Tables print stacks under their row, kernel stacks first (as BCC does), a
// "--" line between two stacks.
void EventWriter::append_stacks_below(Buffer& out, const StreamFormat& s, const uint8_t* data, size_t size) const {
  bool first = true;
  for (bool user : {false, true})
    for (size_t c : s.columns) {
      const FieldPlan& f = s.plan.fields[c];
      if (f.stack < 0 || f.stack_user != user) continue;
      const Stack& stack = stacks_->stack_of(f, data, size);
      if (stack.frames.empty() && stack.lost.empty()) continue;  // there was none (-EFAULT)
      if (!first) append(out, "    --\n");
      first = false;
      append_stack_lines(out, stack, 4);
    }
}

}  // namespace ecli::output
