#include "runtime/attach.hpp"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "runtime/libbpf_log.hpp"
#include "runtime/loader.hpp"
#include "runtime/perf_event_release.hpp"
#include "runtime/program_choice.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

bool exists(const char* path) { return access(path, F_OK) == 0; }

bool is_kprobe_kind(const std::string& kind) {
  return kind == "kprobe" || kind == "kretprobe" || kind == "ksyscall" || kind == "kretsyscall" ||
         kind == "kprobe.multi" || kind == "kretprobe.multi";
}

// Why `prog` could not attach, for "cannot attach PROGRAM: REASON".
std::string attach_reason(struct bpf_program* prog, int err) {
  std::string section = bpf_program__section_name(prog);
  std::string kind = section_kind(section);
  if (std::string missing = missing_kernel_feature(kind); !missing.empty()) return missing;
  std::string target = section.find('/') == std::string::npos ? "" : section.substr(section.find('/') + 1);
  std::string why = last_libbpf_message();
  if ((kind == "tracepoint" || kind == "tp") && err == -ENOENT)
    return fmt::format("tracepoint {} does not exist on this kernel (see /sys/kernel/tracing/events)", target);
  if ((kind == "raw_tp" || kind == "raw_tracepoint" || kind == "tp_btf") && err == -ENOENT)
    return fmt::format("raw tracepoint {} does not exist on this kernel", target);
  if (is_kprobe_kind(kind) && err == -ENOENT)
    return fmt::format("kernel function {} does not exist or cannot be probed", target);
  return fmt::format("{}{}", errno_text(err), why.empty() ? "" : " (" + why + ")");
}

// True when a user probe's SEC() names no binary: `uprobe/readline`,
// `usdt/python:function__entry`, a bare `uprobe`.
bool section_names_no_binary(const std::string& section) {
  size_t slash = section.find('/');
  std::string rest = slash == std::string::npos ? "" : section.substr(slash + 1);
  size_t colons = std::count(rest.begin(), rest.end(), ':');
  return section_kind(section).starts_with("usdt") ? colons < 2 : colons == 0;
}

}  // namespace

std::string missing_kernel_feature(const std::string& kind) {
  if (is_kprobe_kind(kind) && !exists("/sys/bus/event_source/devices/kprobe") &&
      !exists("/sys/kernel/tracing/kprobe_events") && !exists("/sys/kernel/debug/tracing/kprobe_events"))
    return "kprobes are not available on this kernel (CONFIG_KPROBES is off)";
  if ((kind == "uprobe" || kind == "uretprobe" || kind == "usdt") && !exists("/sys/bus/event_source/devices/uprobe") &&
      !exists("/sys/kernel/tracing/uprobe_events"))
    return "uprobes are not available on this kernel (CONFIG_UPROBE_EVENTS is off)";
  return {};
}

bool Attachments::attach_all(BpfObject& object, const package::Meta& meta, const NetOptions& net,
                             ProgramChoice* choice, std::vector<std::string>& report) {
  // Where each network program and user probe goes, before anything is attached.
  UserProbeOptions user_options = user_probes_;
  struct bpf_program* prog;
  if (!default_binary_.empty() && user_options.binaries.empty())
    bpf_object__for_each_program(prog, object.get())
      if (is_user_probe(prog) && section_names_no_binary(bpf_program__section_name(prog)))
        user_options.binaries.push_back(std::string(bpf_program__name(prog)) + "=" + default_binary_);
  auto user_probes = plan_user_probes(object.get(), user_options);
  std::vector<std::string> warnings;
  std::map<const struct bpf_program*, PerfEventPlan> perf_events;
  std::vector<std::pair<struct bpf_program*, NetTarget>> targets;
  bpf_object__for_each_program(prog, object.get()) {
    if (!bpf_program__autoload(prog)) continue;
    const package::Prog* info = nullptr;
    for (const auto& p : meta.progs)
      if (p.name == bpf_program__name(prog)) info = &p;
    if (is_perf_event_program(prog)) perf_events.emplace(prog, plan_perf_event(info, perf_, warnings));
    if (net_kind(prog) == NetKind::None) continue;
    targets.emplace_back(prog, plan_net_target(prog, info, net));
  }
  for (const auto& line : warnings) report.push_back("warning: " + line);
  for (const auto& [p, target] : targets) {
    std::optional<TcFilter> filter;
    int fd = attach_net(p, target, net, filter);
    if (fd >= 0) {
      link_fds_.push_back(fd);
      report.push_back(fmt::format("attached {} to {}", bpf_program__name(p), describe_target(target)));
    } else {
      tc_filters_.push_back(*filter);
      record_tc_filters(tc_filters_);
      report.push_back(fmt::format("attached {} to {} as a netlink filter (handle {} priority {}); if ecli is "
                                   "killed, `ecli cleanup` removes it",
                                   bpf_program__name(p), describe_target(target), filter->handle, filter->priority));
    }
  }

  bpf_object__for_each_program(prog, object.get()) {
    if (!bpf_program__autoload(prog) || net_kind(prog) != NetKind::None) continue;
    if (auto user = user_probes.find(prog); user != user_probes.end()) {
      links_.push_back(attach_user_probe(prog, user->second));  // throws for a function or probe not found
      report.push_back(fmt::format("attached {} to {}", bpf_program__name(prog), describe(user->second)));
      continue;
    }
    if (auto perf = perf_events.find(prog); perf != perf_events.end()) {
      auto links = attach_perf_event(prog, perf->second, report);  // throws when no CPU works
      links_.insert(links_.end(), links.begin(), links.end());
      continue;
    }
    clear_libbpf_log();
    struct bpf_link* link = bpf_program__attach(prog);
    long err = libbpf_get_error(link);
    if (err == -EOPNOTSUPP) {
      // No automatic attach point for this section (tc, xdp, socket filters...).
      report.push_back(fmt::format("loaded {} (SEC(\"{}\")) but did not attach it: libbpf has no automatic "
                                   "attach point for this section",
                                   bpf_program__name(prog), bpf_program__section_name(prog)));
      continue;
    }
    if (err) {
      std::string reason = attach_reason(prog, static_cast<int>(err));
      bool alternative = choice && choice->has_alternative(object.get(), prog);
      std::string message = fmt::format("cannot attach program {}: {}", program_label(prog), reason);
      if (!choice || !choice->exclude(prog, reason, message)) throw Error(message);
      if (alternative) return false;
      continue;  // ProgramChoice::report says it was skipped, and why
    }
    links_.push_back(link);
    report.push_back(
        fmt::format("attached {} to {}", bpf_program__name(prog), bpf_program__section_name(prog)));
  }
  return true;
}

void Attachments::detach_all() {
  for (int fd : link_fds_) close(fd);  // a kernel link goes with its last fd
  link_fds_.clear();
  for (const auto& f : tc_filters_) detach_tc_filter(f);
  if (!tc_filters_.empty()) forget_tc_filters();
  tc_filters_.clear();
  // Held until the links are closed, so no link close is the last reference
  // to its perf event; closing the links then only takes the programs off their hooks.
  PerfEventRelease release(links_);
  if (links_.size() == 1) {
    bpf_link__destroy(links_[0]);
  } else if (!links_.empty()) {
    std::vector<std::thread> threads;
    threads.reserve(links_.size());
    for (struct bpf_link* link : links_) threads.emplace_back([link] { bpf_link__destroy(link); });
    for (auto& t : threads) t.join();
  }
  links_.clear();
}

}  // namespace ecli::runtime
