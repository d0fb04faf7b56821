#pragma once
// The `/// @sample {...}` annotation of a map, checked: what ecc refuses to
// package and what ecli refuses to sample (with the reason) are the same.
#include <cstdint>
#include <string>

#include "package/package.hpp"

namespace ecli::package {

struct SampleSpec {
  enum class Kind { Log2Hist, LinearHist, Table };
  Kind kind = Kind::Table;
  int64_t interval_ms = 1000;
  std::string unit;         // label of the histogram's value column
  bool clear_map = false;   // empty the map after each print
  int64_t min = 0, max = 0, step = 1;  // linear_hist: bucket i is [min + i*step, min + (i+1)*step)
  std::string sort_by;      // default_kv: a field name
  int64_t limit = 0;        // default_kv: rows shown, 0 for all
};

// Throws ecli::Error with the reason ("type must be one of ...").
SampleSpec parse_sample_spec(const Json& annotation);

}  // namespace ecli::package
