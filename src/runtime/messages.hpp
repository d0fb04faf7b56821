#pragma once
// Small things every part of `ecli run` says or shows the same way.
#include <ctime>
#include <string>

namespace ecli::runtime {

// One line for people on stderr, prefixed "ecli: ".
void warn(const std::string& text);

// "HH:MM:SS" in local time: the first column of events and snapshots.
std::string clock_text(time_t when);

// The active kernel lockdown mode in the text of /sys/kernel/security/lockdown
// ("none [integrity] confidentiality" -> "integrity"); "" when none is marked.
std::string lockdown_mode_from(const std::string& text);
// Of the running kernel (read in a private mount namespace when securityfs is
// not mounted); "" when unknown.
std::string lockdown_mode();
// When the verifier's LAST_LINE ("unknown func bpf_probe_write_user#36") names a
// helper that lockdown mode MODE refuses: the reason, naming helper and mode. Else "".
std::string lockdown_refusal(const std::string& last_line, const std::string& mode);

}  // namespace ecli::runtime
