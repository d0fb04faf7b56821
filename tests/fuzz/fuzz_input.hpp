#pragma once
// Helpers shared by the fuzz targets that feed libbpf.
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdint>
#include <cstring>

namespace ecli::fuzz {

// libbpf warns about every malformed input; the targets see little else.
inline void silence_libbpf() {
  static bool silenced = (libbpf_set_print([](enum libbpf_print_level, const char*, va_list) { return 0; }), true);
  (void)silenced;
}

// The little-endian u32 that starts an input of at least 4 bytes.
inline uint32_t leading_u32(const uint8_t* data) {
  uint32_t value;
  std::memcpy(&value, data, 4);
  return value;
}

}  // namespace ecli::fuzz
