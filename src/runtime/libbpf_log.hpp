#pragma once
// libbpf's messages are captured rather than printed: they become the reason
// in our one-line errors (and the verifier log tail). --verbose shows them all.
#include <string>

namespace ecli::runtime {

void capture_libbpf_log(bool verbose);
// Everything libbpf said since the last clear.
const std::string& libbpf_log();
void clear_libbpf_log();
// With --verbose, one line of ours ("ecli: LINE") among libbpf's.
void verbose_note(const std::string& line);
// The last line libbpf printed, without its "libbpf: " prefix.
std::string last_libbpf_message();

}  // namespace ecli::runtime
