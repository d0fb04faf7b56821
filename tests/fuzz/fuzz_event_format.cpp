// libFuzzer target: the event decoder/formatter over arbitrary event bytes for
// a fixed type (built here with libbpf's BTF writer, so the target needs no
// file): integers of each width, char arrays, an enum, bitfields, a pointer,
// a float, __int128, a nested struct, a union and an array of structs. The
// first input byte chooses the output format and value formats (--format
// style: ip, errno, signal, flags...) for the top-level fields; the rest is
// the event, which may be shorter or longer than the type.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <bpf/btf.h>

#include "btf/render_plan.hpp"
#include "output/event_format.hpp"
#include "util/error.hpp"

namespace {

// struct event { ... } and its id in a BTF built once.
struct FixedType {
  struct btf* btf = nullptr;
  uint32_t event_id = 0;
};

FixedType build_type() {
  FixedType t;
  struct btf* b = btf__new_empty();
  int u8 = btf__add_int(b, "unsigned char", 1, 0);
  int chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED | BTF_INT_CHAR);
  int u16 = btf__add_int(b, "unsigned short", 2, 0);
  int s32 = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  int u32 = btf__add_int(b, "unsigned int", 4, 0);
  int s64 = btf__add_int(b, "long long", 8, BTF_INT_SIGNED);
  int u64 = btf__add_int(b, "unsigned long long", 8, 0);
  int s128 = btf__add_int(b, "__int128", 16, BTF_INT_SIGNED);
  int boolean = btf__add_int(b, "_Bool", 1, BTF_INT_BOOL);
  int dbl = btf__add_float(b, "double", 8);
  int pid_t = btf__add_typedef(b, "pid_t", s32);
  int ptr = btf__add_ptr(b, u8);
  int idx = btf__add_int(b, "__ARRAY_SIZE_TYPE__", 4, 0);
  int comm = btf__add_array(b, idx, chr, 16);
  int kind = btf__add_enum(b, "kind", 4);
  btf__add_enum_value(b, "OPEN", 0);
  btf__add_enum_value(b, "CLOSE", 1);
  btf__add_enum_value(b, "NEG", -5);
  int inner = btf__add_struct(b, "inner", 8);
  btf__add_field(b, "a", u16, 0, 0);
  btf__add_field(b, "bits", u32, 16, 3);
  btf__add_field(b, "more", u32, 19, 13);
  btf__add_field(b, "tail", u32, 32, 0);
  int pair_u = btf__add_union(b, "either", 8);
  btf__add_field(b, "as_u64", u64, 0, 0);
  btf__add_field(b, "as_dbl", dbl, 0, 0);
  int inners = btf__add_array(b, idx, inner, 3);
  int ports = btf__add_array(b, idx, u16, 4);
  int v6 = btf__add_array(b, idx, u8, 16);
  t.event_id = btf__add_struct(b, "event", 160);
  btf__add_field(b, "pid", pid_t, 0, 0);
  btf__add_field(b, "family", u16, 32, 0);
  btf__add_field(b, "dport", u16, 48, 0);
  btf__add_field(b, "saddr", u32, 64, 0);
  btf__add_field(b, "ret", s32, 96, 0);
  btf__add_field(b, "ts", u64, 128, 0);
  btf__add_field(b, "comm", comm, 192, 0);
  btf__add_field(b, "kind", kind, 320, 0);
  btf__add_field(b, "ok", boolean, 352, 0);
  btf__add_field(b, "c", chr, 360, 0);
  btf__add_field(b, "flags", u16, 368, 0);
  btf__add_field(b, "addr", ptr, 384, 0);
  btf__add_field(b, "wide", s128, 512, 0);
  btf__add_field(b, "in", inner, 640, 0);
  btf__add_field(b, "u", pair_u, 704, 0);
  btf__add_field(b, "many", inners, 768, 0);
  btf__add_field(b, "ports", ports, 960, 0);
  btf__add_field(b, "daddr_v6", v6, 1024, 0);
  btf__add_field(b, "delta", s64, 1152, 0);
  t.btf = b;
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const FixedType type = build_type();
  static const ecli::btf::RenderPlan base_plan = ecli::btf::build_render_plan(type.btf, type.event_id);
  if (size < 1) return 0;
  uint8_t choice = data[0];
  ecli::btf::RenderPlan plan = base_plan;
  if (choice & 4) {
    // Value formats on the top-level fields, except Ksym (reads /proc/kallsyms).
    static const ecli::btf::ValueFormat formats[] = {
        ecli::btf::ValueFormat::Ipv4,   ecli::btf::ValueFormat::Ipv6,      ecli::btf::ValueFormat::Ip,
        ecli::btf::ValueFormat::Port,   ecli::btf::ValueFormat::Errno,     ecli::btf::ValueFormat::Signal,
        ecli::btf::ValueFormat::OpenFlags, ecli::btf::ValueFormat::Hex,    ecli::btf::ValueFormat::Ns,
        ecli::btf::ValueFormat::Us,     ecli::btf::ValueFormat::Ms};
    size_t n = sizeof(formats) / sizeof(formats[0]);
    for (size_t i = 0; i < plan.fields.size(); ++i) {
      auto& field = plan.fields[i];
      field.format = formats[(choice + i * 7) % n];
      if (field.format == ecli::btf::ValueFormat::Ip) {
        field.family_offset = 4;  // "family"
        field.family_size = 2;
      }
    }
  }
  auto format = static_cast<ecli::output::Format>((choice & 3) % 3);
  try {
    std::vector<ecli::output::StreamFormat> streams{{"events", plan, {}, {}}};
    ecli::output::choose_columns(streams, {});
    ecli::output::EventWriter writer(format, streams);
    ecli::output::Buffer out;
    writer.header(out);
    // A copy, so that reads past the event are seen by ASan.
    std::vector<uint8_t> event(data + 1, data + size);
    writer.row(out, "00:00:00", 0, event.data(), event.size());
  } catch (const ecli::Error&) {
  }
  return 0;
}
