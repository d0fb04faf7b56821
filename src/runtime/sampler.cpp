#include "runtime/sampler.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "btf/render_plan.hpp"
#include "package/sample_spec.hpp"
#include "runtime/loader.hpp"
#include "runtime/stack_resolver.hpp"
#include "runtime/messages.hpp"
#include "runtime/run_loop.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMaxEntriesRead = 1u << 22;  // a bound on buffers for absurd max_entries

double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// Whether ecc (or the user, editing package.json) made this map or global a
// result to print: "role": "result", or an explicit "print".
bool is_result(const package::Json& extra) {
  if (!extra.is_object()) return false;
  if (auto it = extra.find("print"); it != extra.end() && it->is_boolean()) return it->get<bool>();
  auto role = extra.find("role");
  return role != extra.end() && role->is_string() && role->get<std::string>() == "result";
}

// The integers of a value, what adding up per-CPU copies adds.
void collect_counters(const btf::FieldPlan& f, uint32_t base, std::vector<std::pair<uint32_t, uint32_t>>& out) {
  using btf::FieldKind;
  if ((f.kind == FieldKind::Signed || f.kind == FieldKind::Unsigned) && !f.bit_size) {
    out.emplace_back(base + f.offset, f.size);
  } else if (f.kind == FieldKind::Struct) {
    for (const auto& m : f.members) collect_counters(m, base + f.offset, out);
  } else if (f.kind == FieldKind::Array && f.element) {
    for (uint32_t i = 0; i < f.count; i++) collect_counters(*f.element, base + f.offset + i * f.element->size, out);
  }
}

// A histogram when the value holds a `slots` array, else a table.
package::SampleSpec result_spec(const btf::RenderPlan& value, const SampleOptions& options) {
  package::SampleSpec spec;
  spec.kind = package::SampleSpec::Kind::Table;
  for (const auto& f : value.fields)
    if (f.name == "slots") spec.kind = package::SampleSpec::Kind::Log2Hist;
  spec.unit = "value";
  spec.interval_ms = options.interval_ms;
  spec.clear_map = options.clear;
  return spec;
}

// The key of a global array's rows: its index, or the names ecc found for it
// (the enumerators below the enum constant that sizes it: "index_names").
btf::RenderPlan index_plan(const package::Json& extra) {
  btf::FieldPlan f;
  f.name = "index";
  f.kind = btf::FieldKind::Unsigned;
  f.size = 4;
  f.c_type = "__u32";
  std::vector<std::string> names;
  if (auto it = extra.find("index_names"); it != extra.end() && it->is_array())
    for (const auto& n : *it)
      if (n.is_string()) names.push_back(n.get<std::string>());
  if (!names.empty()) {
    f.kind = btf::FieldKind::Enum;
    for (size_t i = 0; i < names.size(); i++)
      if (!names[i].empty()) f.enumerators.emplace_back(static_cast<int64_t>(i), names[i]);
  }
  btf::RenderPlan plan;
  plan.type_name = "struct " + f.name;  // a named column, not a bare "key"
  plan.size = 4;
  plan.fields.push_back(std::move(f));
  return plan;
}

// The doc comment of a map, ecc's "description".
std::string description_of(const package::Json& extra) {
  if (!extra.is_object()) return {};
  auto it = extra.find("description");
  return it != extra.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

Sampler::Sampler(BpfObject& object, const package::Meta& meta, const SampleOptions& options)
    : verbose_(options.verbose), stacks_(options.stacks) {
  const struct btf* btf = bpf_object__btf(object.get());
  for (const auto& m : meta.maps) {
    if (m.sample.is_null()) continue;
    try {
      package::SampleSpec spec = package::parse_sample_spec(m.sample);
      struct bpf_map* map = bpf_object__find_map_by_name(object.get(), m.name.c_str());
      if (!map) throw Error("the object has no such map");
      auto type = bpf_map__type(map);
      bool hash = type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH;
      if (!hash && type != BPF_MAP_TYPE_ARRAY)
        throw Error("only hash and array maps can be sampled (per-CPU maps are not supported yet)");
      if (!btf || !bpf_map__btf_key_type_id(map) || !bpf_map__btf_value_type_id(map))
        throw Error("its key and value types are not in the object's BTF (declare them with __type)");
      Sampled s;
      s.name = m.name;
      s.fd = bpf_map__fd(map);
      s.hash = hash;
      s.key_size = bpf_map__key_size(map);
      s.value_size = bpf_map__value_size(map);
      s.max_entries = std::min(bpf_map__max_entries(map), kMaxEntriesRead);
      btf::RenderPlan key = btf::build_render_plan(btf, bpf_map__btf_key_type_id(map));
      btf::RenderPlan value = btf::build_render_plan(btf, bpf_map__btf_value_type_id(map));
      add_metrics(s, description_of(m.extra), spec, key, value, options);
      s.writer = make_writer(m.name, spec, std::move(key), std::move(value), options);
      s.due = Clock::now() + std::chrono::milliseconds(spec.interval_ms);
      if (options.folded && s.writer->has_stacks()) {  // folded stacks are the whole run's, printed at exit
        s.exit_only = true;
        s.due = Clock::time_point::max();
      }
      maps_.push_back(std::move(s));
    } catch (const Error& e) {
      warn(fmt::format("map '{}' is not sampled: {}", m.name, e.what()));
    }
  }
  for (const auto& m : meta.maps) {
    if (!m.sample.is_null() || !is_result(m.extra)) continue;
    try {
      add_result_map(object, m, options);
    } catch (const Error& e) {
      warn(fmt::format("map '{}' is not printed: {}", m.name, e.what()));
    }
  }
  add_global_results(object, meta, options);
}

void Sampler::add_result_map(BpfObject& object, const package::Map& m, const SampleOptions& options) {
  const struct btf* btf = bpf_object__btf(object.get());
  struct bpf_map* map = bpf_object__find_map_by_name(object.get(), m.name.c_str());
  if (!map) throw Error("the object has no such map");
  auto type = bpf_map__type(map);
  bool per_cpu = type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
                 type == BPF_MAP_TYPE_PERCPU_ARRAY;
  bool hash = type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
              type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
  if (!hash && type != BPF_MAP_TYPE_ARRAY && type != BPF_MAP_TYPE_PERCPU_ARRAY)
    throw Error("only hash and array maps are printed");
  if (!btf || !bpf_map__btf_key_type_id(map) || !bpf_map__btf_value_type_id(map))
    throw Error("its key and value types are not in the object's BTF (declare them with __type)");
  btf::RenderPlan key = btf::build_render_plan(btf, bpf_map__btf_key_type_id(map));
  btf::RenderPlan value = btf::build_render_plan(btf, bpf_map__btf_value_type_id(map));
  // A value that is itself an array of counters (`__type(value, __u32[SLOTS])`) is a histogram's buckets.
  if (value.fields.size() == 1 && value.fields[0].kind == btf::FieldKind::Array && value.fields[0].element &&
      (value.fields[0].element->kind == btf::FieldKind::Unsigned ||
       value.fields[0].element->kind == btf::FieldKind::Signed) &&
      !value.type_name.starts_with("struct") && !value.type_name.starts_with("union"))
    value.fields[0].name = "slots";
  Sampled s;
  s.name = m.name;
  s.fd = bpf_map__fd(map);
  s.hash = hash;
  s.skip_zeros = !hash;
  s.key_size = bpf_map__key_size(map);
  s.value_size = bpf_map__value_size(map);
  s.max_entries = std::min(bpf_map__max_entries(map), kMaxEntriesRead);
  if (per_cpu) {
    int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) throw Error("cannot count the possible CPUs: " + errno_text(cpus));
    s.cpus = static_cast<uint32_t>(cpus);
    s.cpu_stride = (s.value_size + 7) / 8 * 8;
    for (const auto& f : value.fields) collect_counters(f, 0, s.counters);
    if (options.per_cpu) {
      // The key gains the CPU: one row (or histogram) per key and CPU.
      s.each_cpu = true;
      uint32_t cpu_at = (s.key_size + 3) / 4 * 4;
      if (key.type_name.rfind("struct", 0) != 0 && key.type_name.rfind("union", 0) != 0 && key.fields.size() == 1)
        key.fields[0].name = "key";
      btf::FieldPlan cpu;
      cpu.name = "cpu";
      cpu.kind = btf::FieldKind::Unsigned;
      cpu.offset = cpu_at;
      cpu.size = 4;
      cpu.c_type = "__u32";
      key.fields.push_back(cpu);
      key.type_name = "struct " + m.name + "_key";
      key.size = cpu_at + 4;
    }
  }
  package::SampleSpec spec = result_spec(value, options);
  add_metrics(s, description_of(m.extra), spec, key, value, options);
  s.writer = make_writer(m.name, spec, std::move(key), std::move(value), options);
  // Folded stacks are the whole run's, printed once at exit.
  s.exit_only = spec.interval_ms <= 0 || (options.folded && s.writer->has_stacks());
  s.due = s.exit_only ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(spec.interval_ms);
  maps_.push_back(std::move(s));
}

std::unique_ptr<output::SnapshotWriter> Sampler::make_writer(const std::string& name,
                                                             const package::SampleSpec& spec, btf::RenderPlan key,
                                                             btf::RenderPlan value, const SampleOptions& options) {
  if (options.stacks) {
    options.stacks->mark(key);
    options.stacks->mark(value);
  }
  auto writer = std::make_unique<output::SnapshotWriter>(name, spec, std::move(key), std::move(value), options.format,
                                                         options.sort_by, options.top, options.formats);
  if (options.stacks && writer->has_stacks()) writer->set_stacks(options.stacks, options.folded);
  return writer;
}

void Sampler::add_global_results(BpfObject& object, const package::Meta& meta, const SampleOptions& options) {
  const struct btf* btf = bpf_object__btf(object.get());
  if (!btf) return;
  for (const auto& section : meta.data_sections) {
    for (const auto& var : section.variables) {
      if (!is_result(var.extra)) continue;
      try {
        const btf::GlobalVariable* g = nullptr;
        for (const auto& [candidate, type] : object.globals())
          if (candidate.name == var.name) g = &candidate;
        if (!g) throw Error("the object has no such global");
        uint8_t* base = object.mapped_section(g->section);
        if (!base) throw Error("its section " + g->section + " cannot be read while the programs run");
        int resolved = btf__resolve_type(btf, g->type_id);
        const btf_type* t = resolved > 0 ? btf__type_by_id(btf, resolved) : nullptr;
        Sampled s;
        s.name = var.name;
        s.global = base + g->offset;
        s.skip_zeros = true;
        s.key_size = 4;
        btf::RenderPlan key, value;
        if (t && btf_is_array(t) && btf_array(t)->nelems > 0) {
          uint32_t count = btf_array(t)->nelems;
          s.element_size = g->size / count;
          s.max_entries = count;
          value = btf::build_render_plan(btf, btf_array(t)->type);
          key = index_plan(var.extra);
        } else {
          // One counter: a table of one row, keyed by nothing.
          s.element_size = g->size;
          s.max_entries = 1;
          value = btf::build_render_plan(btf, g->type_id);
          key.type_name = "struct";
        }
        if (value.fields.size() == 1 && !value.type_name.starts_with("struct")) {
          value.fields[0].name = var.name;  // the column says what is counted
          value.type_name = "struct " + var.name;
        }
        s.value_size = s.element_size;
        package::SampleSpec spec = result_spec(value, options);
        s.exit_only = spec.interval_ms <= 0;
        s.due = s.exit_only ? Clock::time_point::max() : Clock::now() + std::chrono::milliseconds(spec.interval_ms);
        add_metrics(s, var.description, spec, key, value, options);
        s.writer = std::make_unique<output::SnapshotWriter>(var.name, spec, std::move(key), std::move(value),
                                                            options.format, options.sort_by, options.top, options.formats);
        maps_.push_back(std::move(s));
      } catch (const Error& e) {
        warn(fmt::format("global '{}' is not printed: {}", var.name, e.what()));
      }
    }
  }
}

int Sampler::next_timeout_ms() const {
  auto due = Clock::time_point::max();
  for (const auto& s : maps_) due = std::min(due, s.due);
  // Rounded up: a deadline 0.3 ms away is not due yet, and polling with 0 would spin.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT32_MAX));
}

bool Sampler::tick() {
  auto now = Clock::now();
  for (auto& s : maps_) {
    if (s.due > now) continue;
    auto interval = std::chrono::milliseconds(s.writer->spec().interval_ms);
    s.due += interval;
    if (s.due <= now) s.due = now + interval;  // fell behind: do not print a burst
    if (!snapshot(s, false)) return false;
  }
  return true;
}

bool Sampler::snapshot_all() {
  for (auto& s : maps_)
    if (!snapshot(s, true)) return false;
  return true;
}

// Bytes of one entry's value as the kernel hands it over (per-CPU: every CPU's copy).
static size_t raw_value_size(uint32_t value_size, uint32_t cpus, uint32_t stride) {
  return cpus ? size_t(cpus) * stride : value_size;
}

size_t Sampler::read_entries_one_by_one(Sampled& s, bool clear) {
  std::vector<uint8_t> key(s.key_size), next(s.key_size);
  size_t raw = raw_value_size(s.value_size, s.cpus, s.cpu_stride);
  size_t n = 0;
  void* prev = nullptr;
  while (n < s.max_entries && bpf_map_get_next_key(s.fd, prev, next.data()) == 0) {
    if (bpf_map_lookup_elem(s.fd, next.data(), s.values.data() + n * raw) == 0) {
      std::memcpy(s.keys.data() + n * s.key_size, next.data(), s.key_size);
      n++;
    }
    key = next;
    prev = key.data();
  }
  if (clear) {
    std::vector<uint8_t> zero(raw);
    for (size_t i = 0; i < n; i++) {
      if (s.hash) bpf_map_delete_elem(s.fd, s.keys.data() + i * s.key_size);
      else bpf_map_update_elem(s.fd, s.keys.data() + i * s.key_size, zero.data(), BPF_ANY);
    }
  }
  return n;
}

size_t Sampler::read_entries(Sampled& s, bool clear) {
  if (s.global) return read_global(s, clear);
  size_t raw = raw_value_size(s.value_size, s.cpus, s.cpu_stride);
  s.keys.resize(size_t(s.max_entries) * s.key_size);
  s.values.resize(size_t(s.max_entries) * raw);
  if (!s.batch) return read_entries_one_by_one(s, clear);
  // Hash maps are read and emptied in the same call, so no count that arrives
  // between reading and clearing is lost.
  bool and_delete = clear && s.hash;
  std::vector<uint8_t> batch(std::max<uint32_t>(s.key_size, 8));
  size_t n = 0;
  bool first = true;
  for (;;) {
    uint32_t count = s.max_entries - static_cast<uint32_t>(n);
    if (count == 0) break;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    void* in = first ? nullptr : batch.data();
    int err = and_delete ? bpf_map_lookup_and_delete_batch(s.fd, in, batch.data(), s.keys.data() + n * s.key_size,
                                                          s.values.data() + n * raw, &count, &opts)
                         : bpf_map_lookup_batch(s.fd, in, batch.data(), s.keys.data() + n * s.key_size,
                                                s.values.data() + n * raw, &count, &opts);
    err = err ? -errno : 0;
    first = false;
    n += count;
    if (err == -ENOENT) break;  // the end of the map
    if (err) {
      if (n == 0 && (err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP || err == -524)) {
        s.batch = false;  // an older kernel: read key by key from now on
        return read_entries_one_by_one(s, clear);
      }
      warn(fmt::format("reading map '{}' failed: {}", s.name, errno_text(err)));
      break;
    }
  }
  if (clear && !s.hash && n > 0) {
    // Arrays cannot be emptied; their slots are set back to zero.
    std::vector<uint8_t> zeros(n * raw);
    uint32_t count = static_cast<uint32_t>(n);
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_update_batch(s.fd, s.keys.data(), zeros.data(), &count, &opts) != 0)
      for (size_t i = 0; i < n; i++) bpf_map_update_elem(s.fd, s.keys.data() + i * s.key_size, zeros.data(), BPF_ANY);
  }
  return n;
}

size_t Sampler::read_global(Sampled& s, bool clear) {
  // The section is shared with the kernel: copy it out, then zero what was read.
  size_t bytes = size_t(s.max_entries) * s.element_size;
  s.values.assign(s.global, s.global + bytes);
  if (clear) std::memset(s.global, 0, bytes);
  s.keys.resize(size_t(s.max_entries) * 4);
  for (uint32_t i = 0; i < s.max_entries; i++) std::memcpy(s.keys.data() + i * 4, &i, 4);
  return s.max_entries;
}

void Sampler::sum_per_cpu(Sampled& s, size_t n) {
  // Non-counter bytes (names, flags) come from the first CPU's copy.
  s.per_cpu.assign(n * s.value_size, 0);
  for (size_t i = 0; i < n; i++) {
    const uint8_t* copies = s.values.data() + i * size_t(s.cpus) * s.cpu_stride;
    uint8_t* sum = s.per_cpu.data() + i * s.value_size;
    std::memcpy(sum, copies, s.value_size);
    for (const auto& [offset, size] : s.counters) {
      uint64_t total = 0;
      for (uint32_t cpu = 0; cpu < s.cpus; cpu++) {
        uint64_t v = 0;
        std::memcpy(&v, copies + size_t(cpu) * s.cpu_stride + offset, size);  // little-endian hosts
        total += v;
      }
      std::memcpy(sum + offset, &total, size);
    }
  }
  s.values.swap(s.per_cpu);
}

size_t Sampler::split_per_cpu(Sampled& s, size_t n) {
  // Each CPU's copy becomes an entry of its own, its key followed by the CPU number.
  size_t key_out = (s.key_size + 3) / 4 * 4 + 4;
  size_t rows = n * s.cpus;
  s.cpu_keys.assign(rows * key_out, 0);
  s.per_cpu.assign(rows * s.value_size, 0);
  for (size_t i = 0; i < n; i++) {
    for (uint32_t cpu = 0; cpu < s.cpus; cpu++) {
      size_t row = i * s.cpus + cpu;
      std::memcpy(s.cpu_keys.data() + row * key_out, s.keys.data() + i * s.key_size, s.key_size);
      std::memcpy(s.cpu_keys.data() + row * key_out + key_out - 4, &cpu, 4);
      std::memcpy(s.per_cpu.data() + row * s.value_size,
                  s.values.data() + (i * s.cpus + cpu) * s.cpu_stride, s.value_size);
    }
  }
  s.values.swap(s.per_cpu);
  return rows;
}

void Sampler::add_metrics(Sampled& s, const std::string& help, const package::SampleSpec& spec,
                          const btf::RenderPlan& key, const btf::RenderPlan& value, const SampleOptions& options) {
  if (options.metrics) s.metrics = std::make_unique<output::MapMetrics>(s.name, help, spec, key, value);
}

void Sampler::append_metrics(output::Buffer& out) {
  // Read without emptying: a map that --clear or clear_map empties shows what
  // came since its last print (its HELP says so, and its values are gauges).
  for (auto& s : maps_) {
    if (!s.metrics) continue;
    size_t n = 0;
    s.metrics->write(out, read_rows(s, false, n));
  }
}

std::vector<output::SnapshotEntry> Sampler::read_rows(Sampled& s, bool clear, size_t& n) {
  n = read_entries(s, clear);
  size_t rows = n;
  const uint8_t* keys = s.keys.data();
  size_t key_stride = s.key_size;
  if (s.each_cpu) {
    rows = split_per_cpu(s, n);
    keys = s.cpu_keys.data();
    key_stride = s.cpu_keys.size() / std::max<size_t>(rows, 1);
  } else if (s.cpus) {
    sum_per_cpu(s, n);
  }
  std::vector<output::SnapshotEntry> entries;
  entries.reserve(rows);
  for (size_t i = 0; i < rows; i++) {
    const uint8_t* value = s.values.data() + i * s.value_size;
    if (s.skip_zeros && std::all_of(value, value + s.value_size, [](uint8_t b) { return b == 0; })) continue;
    entries.push_back({keys + i * key_stride, value});
  }
  return entries;
}

bool Sampler::snapshot(Sampled& s, bool final) {
  auto start = Clock::now();
  double cpu_start = cpu_ms();
  size_t n = 0;
  std::vector<output::SnapshotEntry> entries = read_rows(s, s.writer->spec().clear_map && !final, n);
  auto read_done = Clock::now();
  out_.clear();
  if (stacks_) stacks_->forget_stack_ids();  // stack ids may be reused between prints
  s.writer->write(out_, clock_text(time(nullptr)), entries);
  bool ok = write_stdout(std::string_view(out_.data(), out_.size()));
  if (verbose_) {
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cerr << fmt::format("ecli: sampled map '{}': {} entries, read {:.2f} ms, total {:.2f} ms, cpu {:.2f} ms\n",
                             s.name, n, ms(read_done - start), ms(Clock::now() - start), cpu_ms() - cpu_start);
  }
  return ok;
}

void Sampler::set_containers(output::ContainerSource* source, bool columns, const std::string& only_id) {
  for (auto& s : maps_)
    if (s.writer) s.writer->set_containers(source, columns, only_id);
}

std::vector<std::string> Sampler::maps_without_containers() const {
  std::vector<std::string> names;
  for (const auto& s : maps_)
    if (s.writer && !s.writer->knows_containers()) names.push_back(s.name);
  return names;
}

bool Sampler::any_map_with_containers() const {
  for (const auto& s : maps_)
    if (s.writer && s.writer->knows_containers()) return true;
  return false;
}

}  // namespace ecli::runtime
