#pragma once
// Attaching every program of a loaded object, and detaching them again. The
// links are owned here: destroying an Attachments detaches everything, in
// parallel. The perf events behind tracepoint and probe links are left to
// the kernel to free after ecli exits (runtime/perf_event_release.hpp): the
// last close of a classic tracepoint's event waits for an RCU grace period
// (DESIGN.md §7).
#include <string>
#include <vector>

#include "package/package.hpp"
#include "runtime/net_attach.hpp"
#include "runtime/perf_event_attach.hpp"
#include "runtime/uprobe_attach.hpp"

struct bpf_link;

namespace ecli::runtime {

class BpfObject;
class ProgramChoice;

class Attachments {
 public:
  // `user_probes`: where uprobe, uretprobe and USDT programs go (--binary, --pid);
  // `perf`: what perf_event programs sample (-F, --period, --event, --cpu).
  explicit Attachments(UserProbeOptions user_probes = {}, PerfEventOptions perf = {})
      : user_probes_(std::move(user_probes)), perf_(std::move(perf)) {}
  ~Attachments() { detach_all(); }
  Attachments(const Attachments&) = delete;
  Attachments& operator=(const Attachments&) = delete;

  // Attaches each loaded program from its SEC(). A program that fails is
  // skipped with a line in `report` when `choice` lets it go; when another
  // version of its hook could run instead, attach_all returns false and the
  // caller loads the object again (that version was not loaded). Otherwise
  // it throws ecli::Error naming the program and the reason. What was
  // attached before a failure stays owned here and is detached by the
  // destructor. tc, XDP and cgroup programs go where `meta`'s annotations
  // and `net` say; every interface and cgroup is checked first.
  [[nodiscard]] bool attach_all(BpfObject& object, const package::Meta& meta, const NetOptions& net,
                                ProgramChoice* choice, std::vector<std::string>& report);
  void detach_all();
  // -c: the command's program is the binary of user probes whose SEC() names
  // none, when no --binary is given.
  void set_default_binary(std::string path) { default_binary_ = std::move(path); }
  size_t size() const { return links_.size() + link_fds_.size() + tc_filters_.size(); }

 private:
  std::vector<struct bpf_link*> links_;
  std::vector<int> link_fds_;          // kernel links made with bpf_link_create (tcx, XDP, cgroup)
  std::vector<TcFilter> tc_filters_;   // netlink filters, removed one by one
  UserProbeOptions user_probes_;
  PerfEventOptions perf_;
  std::string default_binary_;
};

// Why a program of this kind cannot attach here, if the kernel lacks the
// feature outright ("kprobes are not available..."); empty otherwise.
std::string missing_kernel_feature(const std::string& section_kind);

}  // namespace ecli::runtime
