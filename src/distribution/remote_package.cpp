#include "distribution/remote_package.hpp"

#include "util/error.hpp"

namespace ecli::distribution {

PullPolicy parse_pull_policy(const std::string& text) {
  if (text == "always") return PullPolicy::Always;
  if (text == "missing") return PullPolicy::Missing;
  if (text == "never") return PullPolicy::Never;
  throw Error("--pull " + text + ": say always, missing or never");
}

bool is_url(const std::string& target) { return target.starts_with("http://") || target.starts_with("https://"); }

}  // namespace ecli::distribution
