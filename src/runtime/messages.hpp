#pragma once
// Small things every part of `ecli run` says or shows the same way.
#include <ctime>
#include <string>

namespace ecli::runtime {

// One line for people on stderr, prefixed "ecli: ".
void warn(const std::string& text);

// "HH:MM:SS" in local time: the first column of events and snapshots.
std::string clock_text(time_t when);

}  // namespace ecli::runtime
