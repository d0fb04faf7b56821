#include "runtime/map_sizing.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <charconv>

#include <fmt/format.h>

#include "util/error.hpp"

namespace ecli::runtime {
namespace {

bool is_hash(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_LPM_TRIE || t == BPF_MAP_TYPE_QUEUE ||
         t == BPF_MAP_TYPE_STACK || t == BPF_MAP_TYPE_BLOOM_FILTER;
}
bool is_array(enum bpf_map_type t) { return t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY; }
bool is_ring(enum bpf_map_type t) { return t == BPF_MAP_TYPE_RINGBUF || t == BPF_MAP_TYPE_USER_RINGBUF; }
// Types whose entries have a key (queue, stack and bloom filter have none).
bool needs_key(enum bpf_map_type t) {
  return t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_LPM_TRIE || is_array(t) ||
         t == BPF_MAP_TYPE_STACK_TRACE;
}

std::string list_maps(struct bpf_object* object) {
  std::string out;
  struct bpf_map* map;
  bpf_object__for_each_map(map, object) {
    if (bpf_map__is_internal(map)) continue;
    out += (out.empty() ? "" : ", ") + std::string(bpf_map__name(map));
  }
  return out.empty() ? "none" : out;
}

}  // namespace

std::string map_type_name(const struct bpf_map* map) {
  const char* name = libbpf_bpf_map_type_str(bpf_map__type(map));
  return name ? name : fmt::format("type {}", static_cast<int>(bpf_map__type(map)));
}

MapSizing::MapSizing(const std::vector<std::string>& overrides) {
  for (const auto& text : overrides) {
    size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(fmt::format("--max-entries {}: expected MAP=N", text));
    std::string value = text.substr(eq + 1);
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n == 0 || n > UINT32_MAX)
      throw Error(fmt::format("--max-entries {}: N must be a whole number from 1 to {}", text, UINT32_MAX));
    overrides_.push_back({text.substr(0, eq), static_cast<uint32_t>(n)});
  }
}

void MapSizing::apply(struct bpf_object* object, std::vector<std::string>* report) const {
  for (const auto& o : overrides_) {
    struct bpf_map* map = bpf_object__find_map_by_name(object, o.map.c_str());
    if (!map || bpf_map__is_internal(map))
      throw Error(fmt::format("--max-entries {}={}: there is no map named '{}' (maps: {})", o.map, o.max_entries, o.map,
                              list_maps(object)));
  }
  struct bpf_map* map;
  bpf_object__for_each_map(map, object) {
    if (bpf_map__is_internal(map)) continue;
    enum bpf_map_type type = bpf_map__type(map);
    std::string name = bpf_map__name(map);
    auto said = [&](const std::string& what) {
      if (report) report->push_back(fmt::format("map '{}' ({}): {}", name, map_type_name(map), what));
    };
    if (type == BPF_MAP_TYPE_STACK_TRACE && bpf_map__value_size(map) == 0) {
      // A frame is an address, or with BPF_F_STACK_BUILD_ID a struct bpf_stack_build_id (32 bytes).
      size_t frame = (bpf_map__map_flags(map) & BPF_F_STACK_BUILD_ID) ? sizeof(struct bpf_stack_build_id) : sizeof(uint64_t);
      bpf_map__set_value_size(map, kDefaultStackDepth * frame);
      said(fmt::format("value_size {} ({} frames)", kDefaultStackDepth * frame, kDefaultStackDepth));
    }
    if (bpf_map__max_entries(map) == 0) {
      uint32_t entries = 0;
      if (is_hash(type) || type == BPF_MAP_TYPE_STACK_TRACE) {
        entries = kDefaultMaxEntries;
      } else if (is_array(type)) {
        // Arrays sized at run time are indexed by CPU in libbpf-style tools.
        int cpus = libbpf_num_possible_cpus();
        entries = cpus > 0 ? static_cast<uint32_t>(cpus) : 1;
      } else if (is_ring(type)) {
        entries = kDefaultRingBufferBytes;
      }
      if (entries) {
        bpf_map__set_max_entries(map, entries);
        said(fmt::format("max_entries {}", entries));
      }
    }
    for (const auto& o : overrides_) {
      if (o.map != name) continue;
      if (int err = bpf_map__set_max_entries(map, o.max_entries); err)
        throw Error(fmt::format("--max-entries {}={}: {}", o.map, o.max_entries, errno_text(err)));
    }
  }
}

std::string MapSizing::explain_failure(const struct bpf_map* map, int err) const {
  std::string name = bpf_map__name(map);
  enum bpf_map_type type = bpf_map__type(map);
  uint32_t entries = bpf_map__max_entries(map);
  std::string what = fmt::format("cannot create map '{}' ({}, key_size {}, value_size {}, max_entries {}): {}", name,
                                 map_type_name(map), bpf_map__key_size(map), bpf_map__value_size(map), entries,
                                 errno_text(err));
  bool overridden = false;
  for (const auto& o : overrides_) overridden |= o.map == name;
  if (needs_key(type) && bpf_map__key_size(map) == 0) return what + "; its key_size is 0 (declare a key type)";
  if (!is_ring(type) && type != BPF_MAP_TYPE_PERF_EVENT_ARRAY && bpf_map__value_size(map) == 0 &&
      type != BPF_MAP_TYPE_BLOOM_FILTER)
    return what + "; its value_size is 0 (declare a value type)";
  if (is_ring(type) && (entries & (entries - 1)))
    return what + "; a ring buffer's max_entries must be a power of two multiple of the page size";
  if (err == -E2BIG || err == -ENOMEM || err == -EINVAL) {
    if (overridden) return what + "; the kernel refuses max_entries " + std::to_string(entries) + " from --max-entries";
    if (err != -EINVAL) return what + "; max_entries is too large (set it with --max-entries " + name + "=N)";
  }
  if (entries == 0) return what + "; its max_entries is 0 (set it with --max-entries " + name + "=N)";
  return what;
}

}  // namespace ecli::runtime
