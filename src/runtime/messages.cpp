#include "runtime/messages.hpp"

#include <iostream>

#include <fmt/format.h>

namespace ecli::runtime {

void warn(const std::string& text) { std::cerr << "ecli: " << text << std::endl; }

std::string clock_text(time_t when) {
  struct tm tm {};
  localtime_r(&when, &tm);
  return fmt::format("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

}  // namespace ecli::runtime
