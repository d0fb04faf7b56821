#pragma once
#include <stdexcept>
#include <string>

namespace ecli {

// The one exception type we throw for problems a user can fix. Its message is
// a complete sentence fragment meant for one line on stderr (see DESIGN.md §6);
// `details` carries extra lines (clang diagnostics, verifier log tail).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string details = {})
      : std::runtime_error(message), details_(std::move(details)) {}
  const std::string& details() const { return details_; }

 private:
  std::string details_;
};

// strerror() of a positive or negative errno value.
std::string errno_text(int err);

}  // namespace ecli
