#include "runtime/stack_resolver.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "output/event_format.hpp"
#include "runtime/loader.hpp"
#include "symbols/kallsyms.hpp"

namespace ecli::runtime {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_integer(const btf::FieldPlan& f) {
  return (f.kind == btf::FieldKind::Signed || f.kind == btf::FieldKind::Unsigned) && f.size <= 8 && !f.bit_size;
}

bool is_address_array(const btf::FieldPlan& f) {
  return f.kind == btf::FieldKind::Array && f.element && f.element->size == 8 &&
         (f.element->kind == btf::FieldKind::Unsigned || f.element->kind == btf::FieldKind::Signed ||
          f.element->kind == btf::FieldKind::Pointer);
}

// A user stack by its name: ustack, user_stack_id, u_stack...
bool named_user(const std::string& name) {
  std::string n = lower(name);
  return n.find("user") != std::string::npos || n.starts_with("u");
}

// Why a stack could not be collected, from the error bpf_get_stackid or bpf_get_stack returned.
std::string lost_reason(int64_t err, const std::string& map) {
  switch (-err) {
    case EEXIST:
      // Full, or its bucket for this stack's hash already holds another stack.
      return fmt::format("no room in the stack map{} (-EEXIST)", map.empty() ? "" : " '" + map + "'");
    case ENOMEM:
      return "out of memory (-ENOMEM)";
    case EINVAL:
      return "invalid flags (-EINVAL)";
    default:
      return fmt::format("error {}", err);
  }
}

}  // namespace

StackResolver::StackResolver(BpfObject& object, const package::Meta& meta, symbols::SymbolizerOptions options)
    : symbolizer_(std::move(options)) {
  struct bpf_map* map;
  bpf_object__for_each_map(map, object.get()) {
    if (bpf_map__type(map) != BPF_MAP_TYPE_STACK_TRACE) continue;
    stack_maps_.emplace_back(bpf_map__name(map), bpf_map__fd(map));
  }
  // Reading and sorting /proc/kallsyms takes 100-150 ms here: done on a thread
  // of its own while the tool runs, so that the stacks print without it at exit.
  if (!stack_maps_.empty() || meta.extra_meta.contains("stack_fields"))
    kernel_symbols_ = std::thread([] { symbols::Kallsyms::instance(); });
  // Its values' types were checked when the package was read (package.cpp).
  auto found = meta.extra_meta.find("stack_fields");
  if (found == meta.extra_meta.end() || !found->is_object()) return;
  declared_known_ = true;
  for (const auto& [type, fields] : found->items()) {
    if (!fields.is_object()) continue;
    for (const auto& [field, info] : fields.items()) {
      if (!info.is_object()) continue;
      Spec spec;
      spec.id = info.value("kind", "") == "id";
      spec.user = info.value("user", false);
      spec.build_id = info.value("build_id", false);
      spec.map = info.value("map", "");
      spec.size_field = info.value("size_field", "");
      declared_[type][field] = spec;
    }
  }
}

StackResolver::~StackResolver() {
  if (kernel_symbols_.joinable()) kernel_symbols_.join();
}

int StackResolver::spec_for(const std::string& type, const btf::FieldPlan& f) {
  Spec spec;
  bool found = false;
  if (declared_known_) {
    auto t = declared_.find(type);
    if (t != declared_.end())
      if (auto d = t->second.find(f.name); d != t->second.end()) {
        spec = d->second;
        found = spec.id ? is_integer(f) : is_address_array(f);
      }
  } else {
    // No word from ecc (an object built elsewhere, or eunomia's package): by name and type.
    std::string n = lower(f.name);
    if (n.find("stack") != std::string::npos || n == "kstackid" || n == "ustackid") {
      if (is_integer(f) && f.size >= 4 && !stack_maps_.empty() && n.find("id") != std::string::npos) {
        spec.id = true;
        found = true;
      } else if (is_address_array(f)) {
        found = true;
      }
      spec.user = named_user(f.name);
    }
  }
  if (!found) return -1;
  if (spec.id) {
    auto map = std::find_if(stack_maps_.begin(), stack_maps_.end(),
                            [&](const auto& m) { return spec.map.empty() || m.first == spec.map; });
    if (map == stack_maps_.end()) return -1;
    spec.map = map->first;
    spec.map_fd = map->second;
    struct bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_map_get_info_by_fd(spec.map_fd, &info, &len) != 0) return -1;
    spec.map_value_size = info.value_size;
    spec.build_id = (info.map_flags & BPF_F_STACK_BUILD_ID) != 0;
  }
  specs_.push_back(spec);
  return static_cast<int>(specs_.size() - 1);
}

void StackResolver::mark(btf::RenderPlan& plan) {
  for (auto& f : plan.fields) {
    int index = spec_for(plan.type_name, f);
    if (index < 0) continue;
    f.stack = static_cast<int16_t>(index);
    f.stack_user = specs_[index].user;
    const std::string& bytes = specs_[index].size_field;
    if (bytes.empty()) continue;
    for (const auto& g : plan.fields)
      if (g.name == bytes && is_integer(g)) {
        f.stack_bytes_offset = static_cast<int32_t>(g.offset);
        f.stack_bytes_size = static_cast<uint8_t>(g.size);
      }
  }
}

namespace {

// The frames a kernel stack starts with when it is collected from a tracepoint
// or a BPF trampoline: the BPF program itself and the tracing glue that ran it.
// They say nothing about the traced code and would top every flame graph.
bool tracing_glue(const symbols::Frame& f) {
  const std::string& s = f.symbol;
  return s.starts_with("bpf_prog_") || s.starts_with("bpf_trace_run") || s.starts_with("__traceiter_") ||
         s.starts_with("__bpf_trace_") || s.starts_with("bpf_trampoline_") || s == "perf_trace_run_bpf_submit" ||
         s.starts_with("trace_call_bpf") || s.starts_with("bpf_get_stack") || s.starts_with("__bpf_get_stack");
}

}  // namespace

void StackResolver::resolve_addresses(const Spec& spec, const uint64_t* ips, size_t n, uint32_t pid) {
  size_t i = 0;
  if (!spec.user) {
    size_t glue = 0;
    for (size_t j = 0; j < n && ips[j]; j++)
      if (const auto& frames = symbolizer_.kernel(ips[j]); !frames.empty() && tracing_glue(frames.front())) glue = j + 1;
      else if (j >= 8) break;
    if (glue < n && ips[glue]) i = glue;  // keep something
  }
  for (; i < n && ips[i]; i++) {
    const auto& frames = spec.user ? symbolizer_.user(pid, ips[i]) : symbolizer_.kernel(ips[i]);
    current_.frames.insert(current_.frames.end(), frames.begin(), frames.end());
  }
}

// struct bpf_stack_build_id { __s32 status; unsigned char build_id[20]; union { __u64 offset; __u64 ip; }; }
void StackResolver::resolve_build_ids(const uint8_t* entries, size_t n) {
  constexpr size_t kEntry = 32;
  for (size_t i = 0; i < n; i++) {
    const uint8_t* e = entries + i * kEntry;
    int32_t status;
    uint64_t where;
    std::memcpy(&status, e, 4);
    std::memcpy(&where, e + 24, 8);
    if (status == BPF_STACK_BUILD_ID_EMPTY) break;
    if (status == BPF_STACK_BUILD_ID_VALID) {
      const auto& frames =
          symbolizer_.user_by_build_id(std::string_view(reinterpret_cast<const char*>(e + 4), 20), where);
      current_.frames.insert(current_.frames.end(), frames.begin(), frames.end());
    } else {  // BPF_STACK_BUILD_ID_IP: the kernel could not read the build-id
      symbols::Frame frame;
      frame.address = where;
      current_.frames.push_back(frame);
    }
  }
}

const output::Stack& StackResolver::stack_of(const btf::FieldPlan& f, const uint8_t* base, size_t avail) {
  current_.frames.clear();
  current_.lost.clear();
  if (f.stack < 0 || static_cast<size_t>(f.stack) >= specs_.size() || f.offset + f.size > avail) return current_;
  const Spec& spec = specs_[f.stack];
  current_.kernel = !spec.user;
  uint32_t pid = default_pid_ > 0 ? static_cast<uint32_t>(default_pid_) : 0;
  if (f.stack_pid_offset >= 0 && static_cast<size_t>(f.stack_pid_offset) + f.stack_pid_size <= avail) {
    uint64_t raw = 0;
    std::memcpy(&raw, base + f.stack_pid_offset, std::min<size_t>(f.stack_pid_size, 8));
    if (raw) pid = static_cast<uint32_t>(raw);
  }
  auto lose = [&](int64_t err) {
    // -EFAULT: there was no such stack (a kernel stack of a sample taken in
    // user space, a user stack of a kernel thread), and -1 is the program's
    // own mark for that: nothing was lost, and nothing is printed.
    if (err == -EFAULT || err == -1) return;
    current_.lost = lost_reason(err, spec.map);
    lost_[current_.lost]++;
  };
  size_t entry = spec.build_id ? 32 : 8;
  if (spec.id) {
    int64_t id = output::load_signed(f, base + f.offset);
    if (id < 0) {
      lose(id);
      return current_;
    }
    uint64_t cache_key = (static_cast<uint64_t>(spec.map_fd) << 32) | static_cast<uint32_t>(id);
    auto cached = ids_.find(cache_key);
    if (cached == ids_.end()) {
      std::vector<uint8_t> value(spec.map_value_size);
      uint32_t key = static_cast<uint32_t>(id);
      if (bpf_map_lookup_elem(spec.map_fd, &key, value.data()) != 0) value.clear();
      cached = ids_.emplace(cache_key, std::move(value)).first;
    }
    if (cached->second.empty()) {
      current_.lost = fmt::format("stack id {} is no longer in the stack map '{}'", id, spec.map);
      return current_;
    }
    size_t n = cached->second.size() / entry;
    if (spec.build_id) resolve_build_ids(cached->second.data(), n);
    else resolve_addresses(spec, reinterpret_cast<const uint64_t*>(cached->second.data()), n, pid);
    return current_;
  }
  // An array filled by bpf_get_stack: as many bytes as it returned, else up to the first zero.
  size_t n = f.size / entry;
  if (f.stack_bytes_offset >= 0 && static_cast<size_t>(f.stack_bytes_offset) + f.stack_bytes_size <= avail) {
    btf::FieldPlan bytes;
    bytes.kind = btf::FieldKind::Signed;
    bytes.size = f.stack_bytes_size;
    int64_t count = output::load_signed(bytes, base + f.stack_bytes_offset);
    if (count < 0) {
      lose(count);
      return current_;
    }
    n = std::min(n, static_cast<size_t>(count) / entry);
  }
  buffer_.assign(base + f.offset, base + f.offset + n * entry);  // aligned copy
  if (spec.build_id) resolve_build_ids(buffer_.data(), n);
  else resolve_addresses(spec, reinterpret_cast<const uint64_t*>(buffer_.data()), n, pid);
  return current_;
}

std::vector<std::string> StackResolver::lost_report() const {
  std::vector<std::string> lines;
  for (const auto& [reason, count] : lost_) {
    std::string hint;
    if (reason.find("EEXIST") != std::string::npos)
      for (const auto& [name, fd] : stack_maps_)
        if (reason.find("'" + name + "'") != std::string::npos || stack_maps_.size() == 1)
          hint = fmt::format("; give it more entries with --max-entries {}=N", name);
    lines.push_back(fmt::format("warning: {} stack{} lost: {}{}", count, count == 1 ? " was" : "s were", reason, hint));
  }
  return lines;
}

}  // namespace ecli::runtime
