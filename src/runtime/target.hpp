#pragma once
// What `ecli run TARGET` accepts: a package.json, a BPF object (.o), or a BPF
// C source compiled on the fly by ecc into a cache keyed by its content.
#include <string>
#include <vector>

#include "package/package.hpp"

namespace ecli::runtime {

struct Target {
  package::Package package;
  std::string usage_name;  // how --help names it
};

// Before anything is loaded, load_target checks a file target's signature
// (FILE.minisig) against these public keys (files or base64, from
// --verify-key) and against the host policy's keys when it requires
// signatures (distribution/minisign.hpp).
void set_verify_keys(std::vector<std::string> keys);

Target load_target(const std::string& path, bool verbose);

}  // namespace ecli::runtime
