#include "runtime/program_choice.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <set>
#include <string_view>

#include <fmt/format.h>

#include "runtime/attach.hpp"
#include "runtime/loader.hpp"
#include "symbols/kallsyms.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

// "openat" for the kernel's own entry points of a syscall on this architecture.
std::optional<std::string> syscall_of_function(std::string_view fn) {
  for (std::string_view prefix : {"__x64_sys_", "__arm64_sys_", "__s390x_sys_", "__riscv_sys_", "__powerpc_sys_",
                                  "__loongarch_sys_", "__se_sys_"})
    if (fn.starts_with(prefix) && fn.size() > prefix.size()) return std::string(fn.substr(prefix.size()));
  return std::nullopt;
}

std::string function_event(const std::string& fn, bool entry) {
  if (auto sys = syscall_of_function(fn)) return fmt::format("syscall {} {}", *sys, entry ? "entry" : "exit");
  return fmt::format("{} of {}", entry ? "entry" : "return", fn);
}

// Per-syscall tracepoints (sys_enter_openat) are the syscall's entry and exit,
// whatever mechanism names them.
std::string tracepoint_event(const std::string& name) {
  if (name.starts_with("sys_enter_")) return fmt::format("syscall {} entry", name.substr(10));
  if (name.starts_with("sys_exit_")) return fmt::format("syscall {} exit", name.substr(9));
  return "tracepoint " + name;
}

std::string tracefs_events_dir() {
  for (const char* dir : {"/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events"})
    if (exists(dir)) return dir;
  return {};
}

}  // namespace

std::optional<Hook> hook_of(const std::string& section) {
  std::string kind = section_kind(section);
  size_t slash = section.find('/');
  if (slash == std::string::npos || slash + 1 >= section.size()) return std::nullopt;
  std::string target = section.substr(slash + 1);
  if (kind == "fentry" || kind == "fentry.s") return Hook{function_event(target, true), 0};
  if (kind == "fexit" || kind == "fexit.s") return Hook{function_event(target, false), 0};
  if (kind == "tp_btf") return Hook{tracepoint_event(target), 1};
  if (kind == "raw_tp" || kind == "raw_tracepoint") return Hook{tracepoint_event(target), 2};
  if (kind == "ksyscall") return Hook{fmt::format("syscall {} entry", target), 3};
  if (kind == "kretsyscall") return Hook{fmt::format("syscall {} exit", target), 3};
  if (kind == "kprobe" || kind == "kretprobe") {
    if (target.find('+') != std::string::npos) return std::nullopt;  // an offset into a function: no equivalent
    return Hook{function_event(target, kind == "kprobe"), 4};
  }
  if (kind == "tp" || kind == "tracepoint") {
    size_t cut = target.find('/');
    if (cut == std::string::npos) return std::nullopt;
    return Hook{tracepoint_event(target.substr(cut + 1)), 5};
  }
  return std::nullopt;
}

std::string precheck_program(const std::string& section) {
  std::string kind = section_kind(section);
  size_t slash = section.find('/');
  std::string target = slash == std::string::npos ? "" : section.substr(slash + 1);
  if (std::string missing = missing_kernel_feature(kind); !missing.empty()) return missing;

  static const std::set<std::string> needs_target = {"kprobe", "kretprobe", "ksyscall", "kretsyscall", "fentry",
                                                     "fexit",  "fmod_ret",  "fentry.s", "fexit.s",     "tp_btf",
                                                     "raw_tp", "raw_tracepoint", "tp", "tracepoint"};
  if (needs_target.count(kind) && target.empty())
    return fmt::format("SEC(\"{}\") names no attach point (a placeholder that user space would retarget)", section);

  if (kind == "kprobe" || kind == "kretprobe") {
    std::string fn = target.substr(0, target.find('+'));
    const auto& kallsyms = symbols::Kallsyms::instance();
    if (kallsyms.size() > 0 && !kallsyms.has_function(fn))  // addresses hidden: nothing to tell
      return fmt::format("kernel function {} does not exist on this kernel", fn);
  }
  if (kind == "tp" || kind == "tracepoint") {
    std::string events = tracefs_events_dir();
    if (target.find('/') == std::string::npos) return fmt::format("SEC(\"{}\") is not CATEGORY/NAME", section);
    if (!events.empty() && !exists(events + "/" + target))
      return fmt::format("tracepoint {} does not exist on this kernel", target);
  }
  return {};
}

void ProgramChoice::apply(struct bpf_object* object) {
  if (strict_) return;  // all or nothing: every program loads, as written
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object) {
    if (excluded_.count(bpf_program__name(prog))) continue;
    if (!bpf_program__autoload(prog)) continue;  // switched off by the object itself (SEC("?..."))
    if (std::string why = precheck_program(bpf_program__section_name(prog)); !why.empty())
      exclude(prog, why, fmt::format("cannot attach program {}: {}", program_label(prog), why));
  }
  // The best mechanism left for each hooked event.
  std::map<std::string, int> best;
  bpf_object__for_each_program(prog, object) {
    if (excluded_.count(bpf_program__name(prog)) || !bpf_program__autoload(prog)) continue;
    if (auto hook = hook_of(bpf_program__section_name(prog))) {
      auto [it, added] = best.emplace(hook->event, hook->rank);
      if (!added && hook->rank < it->second) it->second = hook->rank;
    }
  }
  bpf_object__for_each_program(prog, object) {
    if (excluded_.count(bpf_program__name(prog))) {
      bpf_program__set_autoload(prog, false);
      continue;
    }
    auto hook = hook_of(bpf_program__section_name(prog));
    if (hook && hook->rank > best[hook->event]) bpf_program__set_autoload(prog, false);
  }
}

bool ProgramChoice::exclude(const struct bpf_program* prog, const std::string& reason, const std::string& message,
                            const std::string& details) {
  if (strict_) return false;
  std::string name = bpf_program__name(prog);
  std::string own = message.empty() ? fmt::format("cannot run program {}: {}", program_label(prog), reason) : message;
  if (excluded_.emplace(name, Excluded{bpf_program__section_name(prog), reason, own, details}).second)
    order_.push_back(name);
  return true;
}

bool ProgramChoice::has_alternative(const struct bpf_object* object, const struct bpf_program* prog) const {
  auto hook = hook_of(bpf_program__section_name(prog));
  if (!hook) return false;
  struct bpf_program* other = nullptr;
  while ((other = bpf_object__next_program(object, other))) {
    if (other == prog || excluded_.count(bpf_program__name(other))) continue;
    auto h = hook_of(bpf_program__section_name(other));
    if (h && h->event == hook->event && h->rank != hook->rank) return true;
  }
  return false;
}

std::vector<std::string> ProgramChoice::report(struct bpf_object* object) const {
  std::vector<std::string> lines;
  // Who covers each event now.
  std::map<std::string, std::vector<const struct bpf_program*>> chosen, passed_over;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object) {
    if (excluded_.count(bpf_program__name(prog))) continue;
    if (auto hook = hook_of(bpf_program__section_name(prog)))
      (bpf_program__autoload(prog) ? chosen : passed_over)[hook->event].push_back(prog);
  }
  auto names = [](const std::vector<const struct bpf_program*>& progs) {
    std::string out;
    for (const auto* p : progs) out += (out.empty() ? "" : ", ") + program_label(p);
    return out;
  };
  for (const auto& name : order_) {
    const Excluded& e = excluded_.at(name);
    std::string line = fmt::format("skipped {} (SEC(\"{}\")): {}", name, e.section, e.reason);
    if (auto hook = hook_of(e.section); hook && chosen.count(hook->event))
      line += fmt::format("; {} covers the {} instead", names(chosen[hook->event]), hook->event);
    lines.push_back(line);
  }
  for (const auto& [event, progs] : passed_over)
    if (chosen.count(event))
      lines.push_back(fmt::format("{} covers the {}: the best this kernel supports; not loading {}",
                                  names(chosen[event]), event, names(progs)));
  return lines;
}

void ProgramChoice::check_every_hook_runs(struct bpf_object* object) const {
  struct Group {
    std::set<int> ranks;
    bool runs = false;
    std::string reasons;
  };
  std::map<std::string, Group> groups;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object) {
    auto hook = hook_of(bpf_program__section_name(prog));
    if (!hook) continue;
    Group& g = groups[hook->event];
    g.ranks.insert(hook->rank);
    auto it = excluded_.find(bpf_program__name(prog));
    if (it == excluded_.end()) {
      g.runs = true;
    } else {
      g.reasons += fmt::format("{}{} (SEC(\"{}\")): {}", g.reasons.empty() ? "" : "; ", it->first,
                               it->second.section, it->second.reason);
    }
  }
  for (const auto& [event, g] : groups)
    if (g.ranks.size() > 1 && !g.runs)
      throw Error(fmt::format("no version of the {} can run on this kernel: {}", event, g.reasons));
}

void ProgramChoice::throw_nothing_runs() const {
  if (order_.size() == 1) {
    const Excluded& e = excluded_.at(order_.front());
    throw Error(e.message, e.details);
  }
  std::string reasons, details;
  for (const auto& name : order_) {
    const Excluded& e = excluded_.at(name);
    reasons += fmt::format("{}{} (SEC(\"{}\")): {}", reasons.empty() ? "" : "; ", name, e.section, e.reason);
    if (!e.details.empty()) details += name + ": " + e.details;
  }
  throw Error("no program can run on this kernel: " + reasons, details);
}

}  // namespace ecli::runtime
