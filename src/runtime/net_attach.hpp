#pragma once
// Attaching tc, XDP and cgroup programs, which libbpf cannot attach from the
// section name alone: the interface, hook and cgroup come from annotations
// (@tchook, @tcopts, @ifindex, @flags, @xdpopts) and the command line.
//
// Kernel-owned links are preferred, so that even `kill -9` leaves nothing
// behind: tcx links for tc (Linux 6.6+; libbpf 1.1 has no helper, so a raw
// bpf_link_create), XDP links, cgroup links. Where only netlink attachment
// exists, what ecli added is recorded under /run/ecli so that `ecli cleanup`
// can remove what a killed run left.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "package/package.hpp"

struct bpf_object;
struct bpf_program;

namespace ecli::runtime {

struct NetOptions {
  // --ifname/--ifindex: "NAME" for every tc/XDP program, or "PROG=NAME" for one.
  std::vector<std::string> ifnames;
  std::vector<std::string> ifindexes;
  std::string cgroup;          // --cgroup; default: the cgroup v2 root
  bool tc_netlink = false;     // --tc-netlink: classic filters instead of tcx links
};

enum class NetKind { None, Tc, Xdp, Cgroup };
NetKind net_kind(const struct bpf_program* prog);

// Where one program goes, worked out before anything is attached so that a
// missing interface or cgroup stops ecli with nothing changed.
struct NetTarget {
  NetKind kind = NetKind::None;
  int ifindex = 0;
  std::string ifname;
  bool ingress = true;     // tc
  uint32_t handle = 1;     // tc over netlink
  uint32_t priority = 1;
  uint32_t xdp_flags = 0;  // XDP_FLAGS_*
  std::string cgroup;      // path
};

// Throws ecli::Error for an interface or cgroup that does not exist, or
// annotations that cannot be read.
NetTarget plan_net_target(const struct bpf_program* prog, const package::Prog* meta, const NetOptions& options);

// What the netlink path added, for detaching (and for `ecli cleanup`).
struct TcFilter {
  int ifindex = 0;
  bool ingress = true;
  uint32_t handle = 0, priority = 0, prog_id = 0;
  bool created_qdisc = false;
};

// Attaches; returns a link fd (>= 0) or, for netlink tc, -1 with `filter` filled.
// Throws ecli::Error naming the interface and what is in the way.
// Before loading: tc programs expect the tcx hook they will be attached to
// (libbpf's tcx link uses it), from @tchook, the section name and --ifname.
void prepare_tcx_hooks(struct bpf_object* object, const package::Meta& meta, const NetOptions& options);

int attach_net(const struct bpf_program* prog, const NetTarget& target, const NetOptions& options,
               std::optional<TcFilter>& filter);
void detach_tc_filter(const TcFilter& filter);

// The record of netlink filters of this process under /run/ecli.
void record_tc_filters(const std::vector<TcFilter>& filters);
void forget_tc_filters();
// `ecli cleanup`: removes the filters recorded by ecli processes that are gone.
// Returns a line per filter removed.
std::vector<std::string> cleanup_stale_tc_filters();

std::string describe_target(const NetTarget& target);

}  // namespace ecli::runtime
