#pragma once
// Releasing the perf events behind tracepoint, kprobe and uprobe links
// without waiting for the kernel's teardown.
//
// Closing the last reference to a classic tracepoint's perf event makes the
// closing task wait for RCU grace periods under the kernel's global
// event_mutex, one tracepoint after another (25-85 ms each here, DESIGN.md
// §7). The program itself is off the hook as soon as its kernel link
// (BPF_LINK_TYPE_PERF_EVENT) closes; what is left is bookkeeping.
//
// PerfEventRelease takes a reference to each such event in a perf event array
// map before the links close. The kernel drops a perf event array's
// references from an RCU callback, so the last reference goes in its
// deferred-fput worker, and ecli's exit does not wait for the grace periods.
// The programs are detached before ecli exits all the same.
#include <vector>

struct bpf_link;

namespace ecli::runtime {

class PerfEventRelease {
 public:
  // Holds every perf event open in this process, when every link in `links`
  // is a kernel link. A link attached the old way (PERF_EVENT_IOC_SET_BPF,
  // kernels before 5.15) is its perf event: its program would stay on the
  // hook until the deferred release, so then nothing is held. (Those are
  // also the only kernels where libbpf makes tracefs probes that it removes
  // after the event's close.) Nothing is held either when the process's fds
  // cannot be listed or the map cannot be made: the links' closes then wait.
  explicit PerfEventRelease(const std::vector<struct bpf_link*>& links);
  // Hands the held events to the kernel (closes the map).
  ~PerfEventRelease();
  PerfEventRelease(const PerfEventRelease&) = delete;
  PerfEventRelease& operator=(const PerfEventRelease&) = delete;

 private:
  int map_fd_ = -1;
};

}  // namespace ecli::runtime
