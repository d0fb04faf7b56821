// Naming lockdown refusals from the verifier's last line and the lockdown file.
#include <gtest/gtest.h>

#include "runtime/messages.hpp"

namespace ecli::runtime {
namespace {

TEST(Lockdown, ModeIsTheBracketedWord) {
  EXPECT_EQ(lockdown_mode_from("none [integrity] confidentiality\n"), "integrity");
  EXPECT_EQ(lockdown_mode_from("[none] integrity confidentiality"), "none");
  EXPECT_EQ(lockdown_mode_from(""), "");
  EXPECT_EQ(lockdown_mode_from("none integrity ["), "");
}

TEST(Lockdown, WriteUserIsRefusedFromIntegrityOn) {
  const std::string line = "unknown func bpf_probe_write_user#36";
  EXPECT_EQ(lockdown_refusal(line, "integrity"),
            "it calls bpf_probe_write_user, which the kernel refuses under lockdown (mode \"integrity\" in "
            "/sys/kernel/security/lockdown)");
  EXPECT_NE(lockdown_refusal(line, "confidentiality"), "");
  EXPECT_EQ(lockdown_refusal(line, "none"), "");
  EXPECT_EQ(lockdown_refusal(line, ""), "");
}

TEST(Lockdown, KernelReadsAreRefusedOnlyUnderConfidentiality) {
  const std::string line = "unknown func bpf_probe_read_kernel#113";
  EXPECT_EQ(lockdown_refusal(line, "integrity"), "");
  EXPECT_NE(lockdown_refusal(line, "confidentiality").find("it calls bpf_probe_read_kernel,"), std::string::npos);
  EXPECT_EQ(lockdown_refusal("R0 invalid mem access 'scalar'", "confidentiality"), "");
}

}  // namespace
}  // namespace ecli::runtime
