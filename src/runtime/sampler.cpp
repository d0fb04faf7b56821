#include "runtime/sampler.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <time.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include <fmt/format.h>

#include "btf/render_plan.hpp"
#include "package/sample_spec.hpp"
#include "runtime/loader.hpp"
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

}  // namespace

Sampler::Sampler(BpfObject& object, const package::Meta& meta, const SampleOptions& options)
    : verbose_(options.verbose) {
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
      s.writer = std::make_unique<output::SnapshotWriter>(
          m.name, spec, btf::build_render_plan(btf, bpf_map__btf_key_type_id(map)),
          btf::build_render_plan(btf, bpf_map__btf_value_type_id(map)), options.format, options.sort_by, options.top);
      s.due = Clock::now() + std::chrono::milliseconds(spec.interval_ms);
      maps_.push_back(std::move(s));
    } catch (const Error& e) {
      warn(fmt::format("map '{}' is not sampled: {}", m.name, e.what()));
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
    if (!snapshot(s)) return false;
  }
  return true;
}

bool Sampler::snapshot_all() {
  for (auto& s : maps_)
    if (!snapshot(s)) return false;
  return true;
}

size_t Sampler::read_entries_one_by_one(Sampled& s, bool clear) {
  std::vector<uint8_t> key(s.key_size), next(s.key_size);
  size_t n = 0;
  void* prev = nullptr;
  while (n < s.max_entries && bpf_map_get_next_key(s.fd, prev, next.data()) == 0) {
    if (bpf_map_lookup_elem(s.fd, next.data(), s.values.data() + n * s.value_size) == 0) {
      std::memcpy(s.keys.data() + n * s.key_size, next.data(), s.key_size);
      n++;
    }
    key = next;
    prev = key.data();
  }
  if (clear) {
    std::vector<uint8_t> zero(s.value_size);
    for (size_t i = 0; i < n; i++) {
      if (s.hash) bpf_map_delete_elem(s.fd, s.keys.data() + i * s.key_size);
      else bpf_map_update_elem(s.fd, s.keys.data() + i * s.key_size, zero.data(), BPF_ANY);
    }
  }
  return n;
}

size_t Sampler::read_entries(Sampled& s, bool clear) {
  s.keys.resize(size_t(s.max_entries) * s.key_size);
  s.values.resize(size_t(s.max_entries) * s.value_size);
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
                                                          s.values.data() + n * s.value_size, &count, &opts)
                         : bpf_map_lookup_batch(s.fd, in, batch.data(), s.keys.data() + n * s.key_size,
                                                s.values.data() + n * s.value_size, &count, &opts);
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
    std::vector<uint8_t> zeros(n * s.value_size);
    uint32_t count = static_cast<uint32_t>(n);
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    if (bpf_map_update_batch(s.fd, s.keys.data(), zeros.data(), &count, &opts) != 0)
      for (size_t i = 0; i < n; i++) bpf_map_update_elem(s.fd, s.keys.data() + i * s.key_size, zeros.data(), BPF_ANY);
  }
  return n;
}

bool Sampler::snapshot(Sampled& s) {
  auto start = Clock::now();
  double cpu_start = cpu_ms();
  size_t n = read_entries(s, s.writer->spec().clear_map);
  auto read_done = Clock::now();
  std::vector<output::SnapshotEntry> entries(n);
  for (size_t i = 0; i < n; i++)
    entries[i] = {s.keys.data() + i * s.key_size, s.values.data() + i * s.value_size};
  out_.clear();
  s.writer->write(out_, clock_text(time(nullptr)), entries);
  bool ok = write_stdout(std::string_view(out_.data(), out_.size()));
  if (verbose_) {
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::cerr << fmt::format("ecli: sampled map '{}': {} entries, read {:.2f} ms, total {:.2f} ms, cpu {:.2f} ms\n",
                             s.name, n, ms(read_done - start), ms(Clock::now() - start), cpu_ms() - cpu_start);
  }
  return ok;
}

}  // namespace ecli::runtime
