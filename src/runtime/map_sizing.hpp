#pragma once
// Sizes of maps that libbpf-style code leaves to its user space: a stack
// trace map without value_size, max_entries 0 (set from pid_max or the CPU
// count at run time), a ring buffer without a size. We give them what such a
// user space would, and `--max-entries MAP=N` overrides any map.
#include <cstdint>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_map;

namespace ecli::runtime {

inline constexpr uint32_t kDefaultStackDepth = 127;           // frames, as libbpf-tools' perf_max_stack_depth
inline constexpr uint32_t kDefaultMaxEntries = 10240;         // libbpf-tools' MAX_ENTRIES
inline constexpr uint32_t kDefaultRingBufferBytes = 16u << 20;  // lossless through a 1M-event storm

class MapSizing {
 public:
  // `overrides` as given: "MAP=N" each. Throws ecli::Error for malformed ones.
  explicit MapSizing(const std::vector<std::string>& overrides);

  // After each open, before loading. Throws ecli::Error naming an unknown map
  // (with the maps there are) or a value libbpf refuses. `report` gets one
  // line per size we chose.
  void apply(struct bpf_object* object, std::vector<std::string>* report = nullptr) const;

  // Why the kernel refused to create `map` with error `err`: its name, type and
  // the attribute that is wrong, as far as it can be told.
  std::string explain_failure(const struct bpf_map* map, int err) const;

 private:
  struct Override {
    std::string map;
    uint32_t max_entries;
  };
  std::vector<Override> overrides_;
};

// "hash", "ringbuf", "stack_trace"... (libbpf's names).
std::string map_type_name(const struct bpf_map* map);

}  // namespace ecli::runtime
