// Which sections are versions of the same kernel hook, and which is better.
#include <gtest/gtest.h>

#include "runtime/map_sizing.hpp"
#include "runtime/program_choice.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

std::string event_of(const std::string& section) {
  auto hook = hook_of(section);
  return hook ? hook->event : "(none)";
}
int rank_of(const std::string& section) { return hook_of(section).value().rank; }

TEST(HookOf, FunctionEntryAndReturnByTrampolineOrKprobe) {
  EXPECT_EQ(event_of("fentry/do_unlinkat"), "entry of do_unlinkat");
  EXPECT_EQ(event_of("kprobe/do_unlinkat"), "entry of do_unlinkat");
  EXPECT_EQ(event_of("fexit/do_unlinkat"), "return of do_unlinkat");
  EXPECT_EQ(event_of("kretprobe/do_unlinkat"), "return of do_unlinkat");
  EXPECT_LT(rank_of("fentry/do_unlinkat"), rank_of("kprobe/do_unlinkat"));
  EXPECT_LT(rank_of("fexit/do_unlinkat"), rank_of("kretprobe/do_unlinkat"));
  EXPECT_EQ(event_of("kprobe/do_unlinkat+16"), "(none)");  // an offset has no equivalent
}

TEST(HookOf, TracepointsByBtfRawOrClassicName) {
  EXPECT_EQ(event_of("tp_btf/sched_switch"), "tracepoint sched_switch");
  EXPECT_EQ(event_of("raw_tp/sched_switch"), "tracepoint sched_switch");
  EXPECT_EQ(event_of("raw_tracepoint/sched_switch"), "tracepoint sched_switch");
  EXPECT_EQ(event_of("tp/sched/sched_switch"), "tracepoint sched_switch");
  EXPECT_EQ(event_of("tracepoint/sched/sched_switch"), "tracepoint sched_switch");
  EXPECT_LT(rank_of("tp_btf/sched_switch"), rank_of("raw_tp/sched_switch"));
  EXPECT_LT(rank_of("raw_tp/sched_switch"), rank_of("tp/sched/sched_switch"));
}

TEST(HookOf, ASyscallByAnyOfItsNames) {
  for (const char* section : {"fentry/__x64_sys_openat", "ksyscall/openat", "kprobe/__x64_sys_openat",
                              "kprobe/__arm64_sys_openat", "tracepoint/syscalls/sys_enter_openat",
                              "raw_tp/sys_enter_openat"})
    EXPECT_EQ(event_of(section), "syscall openat entry") << section;
  for (const char* section : {"fexit/__x64_sys_openat", "kretsyscall/openat", "kretprobe/__x64_sys_openat",
                              "tp/syscalls/sys_exit_openat"})
    EXPECT_EQ(event_of(section), "syscall openat exit") << section;
  EXPECT_LT(rank_of("fentry/__x64_sys_openat"), rank_of("ksyscall/openat"));
  EXPECT_LT(rank_of("ksyscall/openat"), rank_of("tp/syscalls/sys_enter_openat"));
}

TEST(HookOf, SectionsWithoutAlternatives) {
  for (const char* section : {"uprobe//bin/bash:readline", "usdt/x:y:z", "tc", "xdp", "perf_event", "kprobe",
                              "fentry", "tp/nocategory", "lsm/file_open", "iter/task"})
    EXPECT_EQ(event_of(section), "(none)") << section;
}

TEST(Precheck, SectionsThatNameNoTargetArePlaceholders) {
  EXPECT_NE(precheck_program("fentry").find("names no attach point"), std::string::npos);
  EXPECT_NE(precheck_program("tp_btf").find("names no attach point"), std::string::npos);
  EXPECT_NE(precheck_program("tp/syscalls").find("is not CATEGORY/NAME"), std::string::npos);
}

TEST(MapSizingOptions, MalformedOverridesAreRefusedWithTheOption) {
  auto message = [](const std::string& text) {
    try {
      MapSizing sizing({text});
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(message("counts=16"), "accepted");
  EXPECT_EQ(message("counts"), "--max-entries counts: expected MAP=N");
  EXPECT_EQ(message("=5"), "--max-entries =5: expected MAP=N");
  EXPECT_EQ(message("counts=-1"), "--max-entries counts=-1: N must be a whole number from 1 to 4294967295");
  EXPECT_EQ(message("counts=4294967296"),
            "--max-entries counts=4294967296: N must be a whole number from 1 to 4294967295");
  EXPECT_EQ(message("counts=12k"), "--max-entries counts=12k: N must be a whole number from 1 to 4294967295");
}

}  // namespace
}  // namespace ecli::runtime
