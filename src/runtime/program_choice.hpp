#pragma once
// Which programs of an object to load (DESIGN.md §8, bpftrace's BPFfeature).
//
// libbpf-style tools carry several versions of one hook (fentry/X and
// kprobe/X, tp_btf/X, raw_tp/X and tracepoint/C/X, ksyscall/X and the
// syscall tracepoints) and let user space keep one. We keep the best one this
// kernel can run, falling to the next when it is refused, so that no event is
// counted twice. A program that cannot run here and has no alternative is
// switched off with its reason, and the rest run (unless --strict).
#include <map>
#include <optional>
#include <string>
#include <vector>

struct bpf_object;
struct bpf_program;

namespace ecli::runtime {

// The kernel event a section hooks, and how good its mechanism is.
struct Hook {
  std::string event;  // "entry of do_unlinkat", "tracepoint sched_switch", "syscall openat entry"
  int rank = 0;       // lower is better: fentry, tp_btf, raw_tp, kprobe, tracepoint
};
// Nothing for sections that have no alternatives (uprobes, tc, perf_event...).
std::optional<Hook> hook_of(const std::string& section);

class ProgramChoice {
 public:
  explicit ProgramChoice(bool strict) : strict_(strict) {}

  bool strict() const { return strict_; }

  // After each open: switches off excluded programs and every alternative
  // worse than the best one left in its group; also excludes, before loading,
  // programs that cannot work here (a missing tracepoint, kprobes compiled
  // out, a section naming no target). Throws in strict mode.
  void apply(struct bpf_object* object);

  // A program that failed to load or attach, with the short reason, and the
  // error it would be on its own (message and verifier log). Returns false
  // when it must not be dropped (strict mode); the caller then throws.
  bool exclude(const struct bpf_program* prog, const std::string& reason, const std::string& message = {},
               const std::string& details = {});
  // Whether an excluded program leaves another version of its hook to try.
  bool has_alternative(const struct bpf_object* object, const struct bpf_program* prog) const;

  // Lines for stderr: what was skipped and why, which alternative was chosen.
  std::vector<std::string> report(struct bpf_object* object) const;
  // A tool that carries several versions of a hook needs one of them: throws
  // when every version was switched off, naming each and why.
  void check_every_hook_runs(struct bpf_object* object) const;
  // The error when nothing could run: a lone program's own error, or every reason.
  [[noreturn]] void throw_nothing_runs() const;
  bool any_excluded() const { return !excluded_.empty(); }

 private:
  struct Excluded {
    std::string section;
    std::string reason;
    std::string message, details;
  };
  bool strict_;
  std::map<std::string, Excluded> excluded_;  // by program name, in order of names
  std::vector<std::string> order_;            // program names in the order they were excluded
};

// Why a program of this section cannot work on this kernel, found without
// loading it; empty when nothing is known against it.
std::string precheck_program(const std::string& section);

}  // namespace ecli::runtime
