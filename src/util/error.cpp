#include "util/error.hpp"

#include <cstring>
#include <cstdlib>

namespace ecli {

std::string errno_text(int err) { return std::strerror(std::abs(err)); }

}  // namespace ecli
