#include "util/hash.hpp"

#include <fmt/format.h>

namespace ecli {

Hasher& Hasher::add(std::string_view bytes) {
  for (unsigned char c : bytes) {
    state_ ^= c;
    state_ *= 1099511628211ull;
  }
  // Separator so that add("ab").add("c") differs from add("a").add("bc").
  state_ ^= 0xff;
  state_ *= 1099511628211ull;
  return *this;
}

std::string Hasher::hex() const { return fmt::format("{:016x}", state_); }

}  // namespace ecli
