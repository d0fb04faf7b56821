#include "package/sample_spec.hpp"

#include "util/error.hpp"

namespace ecli::package {
namespace {

int64_t integer(const Json& j, const char* key, int64_t fallback) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw Error(std::string("\"") + key + "\" must be an integer");
  return it->get<int64_t>();
}

}  // namespace

SampleSpec parse_sample_spec(const Json& j) {
  if (j.is_string()) throw Error("@sample is not JSON: " + j.get<std::string>());
  if (!j.is_object()) throw Error("@sample must be a JSON object such as {\"interval\": 1000, \"type\": \"log2_hist\"}");
  SampleSpec spec;
  std::string type = "default_kv";
  if (auto it = j.find("type"); it != j.end() && !it->is_null()) {
    // Checked here: nlohmann's value() would throw its own type_error (found by fuzz_meta).
    if (!it->is_string()) throw Error("@sample \"type\" must be one of \"log2_hist\", \"linear_hist\", \"default_kv\"");
    type = it->get<std::string>();
  }
  if (type == "log2_hist") spec.kind = SampleSpec::Kind::Log2Hist;
  else if (type == "linear_hist") spec.kind = SampleSpec::Kind::LinearHist;
  else if (type == "default_kv") spec.kind = SampleSpec::Kind::Table;
  else throw Error("@sample type \"" + type + "\" is not one of log2_hist, linear_hist, default_kv");
  spec.interval_ms = integer(j, "interval", 1000);
  if (spec.interval_ms <= 0) throw Error("@sample \"interval\" must be a positive number of milliseconds");
  if (auto it = j.find("unit"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw Error("@sample \"unit\" must be a string");
    spec.unit = it->get<std::string>();
  }
  if (auto it = j.find("clear_map"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) throw Error("@sample \"clear_map\" must be true or false");
    spec.clear_map = it->get<bool>();
  }
  if (spec.kind == SampleSpec::Kind::LinearHist) {
    spec.min = integer(j, "min", 0);
    spec.max = integer(j, "max", 0);
    spec.step = integer(j, "step", 1);
    if (spec.step <= 0) throw Error("@sample \"step\" must be positive");
    if (spec.max <= spec.min) throw Error("@sample linear_hist needs \"max\" greater than \"min\"");
  }
  if (auto it = j.find("sort_by"); it != j.end() && !it->is_null()) {
    if (!it->is_string()) throw Error("@sample \"sort_by\" must be a field name");
    spec.sort_by = it->get<std::string>();
  }
  spec.limit = integer(j, "limit", 0);
  if (spec.limit < 0) throw Error("@sample \"limit\" must not be negative");
  return spec;
}

}  // namespace ecli::package
