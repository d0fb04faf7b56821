#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace ecli {

// Stable 64-bit FNV-1a, used only for cache keys (not for security).
class Hasher {
 public:
  Hasher& add(std::string_view bytes);
  std::string hex() const;

 private:
  uint64_t state_ = 1469598103934665603ull;
};

}  // namespace ecli
