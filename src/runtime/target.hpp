#pragma once
// What `ecli run TARGET` accepts: a package.json, a BPF object (.o), or a BPF
// C source compiled on the fly by ecc into a cache keyed by its content.
#include <string>

#include "package/package.hpp"

namespace ecli::runtime {

struct Target {
  package::Package package;
  std::string usage_name;  // how --help names it
};

Target load_target(const std::string& path, bool verbose);

}  // namespace ecli::runtime
