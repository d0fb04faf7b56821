#include "runtime/net_attach.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::runtime {
namespace {

// Not in the 6.1 UAPI headers Debian 12 ships (libbpf 1.4 uses the kernel's values); stable kernel ABI.
constexpr auto kTcxIngress = static_cast<enum bpf_attach_type>(46);
constexpr auto kTcxEgress = static_cast<enum bpf_attach_type>(47);
constexpr const char* kStateDir = "/run/ecli";

std::string prog_name(const struct bpf_program* prog) { return bpf_program__name(prog); }

// "PROG=VALUE" entries for this program, else a plain "VALUE" for all.
std::optional<std::string> option_for(const std::vector<std::string>& values, const std::string& prog) {
  std::optional<std::string> all;
  for (const auto& v : values) {
    auto eq = v.find('=');
    if (eq == std::string::npos) all = v;
    else if (v.substr(0, eq) == prog) return v.substr(eq + 1);
  }
  return all;
}

// The kernel link lives as long as its fd: keep the fd, let libbpf forget the rest.
int link_fd(struct bpf_link* link) {
  int fd = bpf_link__fd(link);
  bpf_link__disconnect(link);
  bpf_link__destroy(link);
  return fd;
}

int resolve_ifname(const std::string& name) {
  unsigned index = if_nametoindex(name.c_str());
  if (!index) throw Error("network interface '" + name + "' does not exist (see `ip link`)");
  return static_cast<int>(index);
}

std::string ifname_of(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (!if_indextoname(static_cast<unsigned>(ifindex), name))
    throw Error(fmt::format("there is no network interface with index {} (see `ip link`)", ifindex));
  return name;
}

int64_t json_int(const package::Json& j, const char* key, int64_t fallback, const std::string& what) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_number_integer()) throw Error(fmt::format("{}: \"{}\" must be an integer", what, key));
  return it->get<int64_t>();
}

uint32_t xdp_flags_from(const package::Json& value, const std::string& prog) {
  if (value.is_null()) return 0;
  if (value.is_number_unsigned() || value.is_number_integer()) return value.get<uint32_t>();
  if (!value.is_string()) throw Error("@flags of program '" + prog + "' must be a number or XDP_FLAGS_* names");
  uint32_t flags = 0;
  std::string text = value.get<std::string>();
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t bar = text.find_first_of("|, ", pos);
    std::string name = text.substr(pos, bar == std::string::npos ? std::string::npos : bar - pos);
    pos = bar == std::string::npos ? text.size() + 1 : bar + 1;
    if (name.empty()) continue;
    if (name == "XDP_FLAGS_UPDATE_IF_NOEXIST") flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
    else if (name == "XDP_FLAGS_SKB_MODE") flags |= XDP_FLAGS_SKB_MODE;
    else if (name == "XDP_FLAGS_DRV_MODE") flags |= XDP_FLAGS_DRV_MODE;
    else if (name == "XDP_FLAGS_HW_MODE") flags |= XDP_FLAGS_HW_MODE;
    else throw Error("@flags of program '" + prog + "': unknown flag " + name);
  }
  return flags;
}

std::string default_cgroup_root() {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs fs {};
    if (statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return path;
  }
  throw Error("no cgroup v2 hierarchy is mounted at /sys/fs/cgroup; give one with --cgroup PATH");
}

std::string state_file(pid_t pid) { return fmt::format("{}/tc-{}.json", kStateDir, pid); }

}  // namespace

NetKind net_kind(const struct bpf_program* prog) {
  switch (bpf_program__type(prog)) {
    case BPF_PROG_TYPE_SCHED_CLS:
      return NetKind::Tc;
    case BPF_PROG_TYPE_XDP:
      return NetKind::Xdp;
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
    case BPF_PROG_TYPE_SOCK_OPS:
      return NetKind::Cgroup;
    default:
      return NetKind::None;
  }
}

NetTarget plan_net_target(const struct bpf_program* prog, const package::Prog* meta, const NetOptions& options) {
  NetTarget t;
  t.kind = net_kind(prog);
  std::string name = prog_name(prog);
  package::Json extra = meta ? meta->extra : package::Json::object();
  if (t.kind == NetKind::Cgroup) {
    t.cgroup = options.cgroup.empty() ? default_cgroup_root() : options.cgroup;
    struct statfs fs {};
    if (statfs(t.cgroup.c_str(), &fs) != 0)
      throw Error("cgroup " + t.cgroup + " does not exist (" + errno_text(errno) + ")");
    if (fs.f_type != CGROUP2_SUPER_MAGIC) throw Error(t.cgroup + " is not in a cgroup v2 hierarchy");
    return t;
  }
  if (t.kind == NetKind::None) return t;

  // Annotations give the defaults; the command line wins.
  if (t.kind == NetKind::Tc) {
    package::Json hook = extra.value("tchook", package::Json::object());
    package::Json opts = extra.value("tcopts", package::Json::object());
    t.ifindex = static_cast<int>(json_int(hook, "ifindex", 1, "@tchook of " + name));
    std::string point = hook.is_object() ? hook.value("attach_point", std::string("BPF_TC_INGRESS")) : "BPF_TC_INGRESS";
    if (point != "BPF_TC_INGRESS" && point != "BPF_TC_EGRESS")
      throw Error("@tchook of " + name + ": attach_point must be BPF_TC_INGRESS or BPF_TC_EGRESS, not " + point);
    t.ingress = point == "BPF_TC_INGRESS";
    // SEC("tcx/egress") and the like name their hook themselves.
    std::string section = bpf_program__section_name(prog);
    if (section.starts_with("tcx/") || section.starts_with("tc/")) t.ingress = section.ends_with("/ingress");
    t.handle = static_cast<uint32_t>(json_int(opts, "handle", 1, "@tcopts of " + name));
    t.priority = static_cast<uint32_t>(json_int(opts, "priority", 1, "@tcopts of " + name));
  } else {
    t.ifindex = static_cast<int>(json_int(extra, "ifindex", 1, "@ifindex of " + name));
    if (extra.contains("ifindex") && !extra["ifindex"].is_number_integer())
      throw Error("@ifindex of " + name + " must be an integer");
    t.xdp_flags = xdp_flags_from(extra.value("flags", package::Json()), name);
    package::Json xdpopts = extra.value("xdpopts", package::Json::object());
    if (xdpopts.is_object() && xdpopts.contains("flags")) t.xdp_flags |= xdp_flags_from(xdpopts["flags"], name);
  }
  if (auto index = option_for(options.ifindexes, name)) {
    char* end = nullptr;
    long v = strtol(index->c_str(), &end, 10);
    if (index->empty() || *end || v <= 0) throw Error("--ifindex " + *index + " is not an interface index");
    t.ifindex = static_cast<int>(v);
  }
  if (auto ifname = option_for(options.ifnames, name)) t.ifindex = resolve_ifname(*ifname);
  t.ifname = ifname_of(t.ifindex);
  return t;
}

std::string describe_target(const NetTarget& t) {
  switch (t.kind) {
    case NetKind::Tc:
      return fmt::format("{} {}", t.ifname, t.ingress ? "ingress" : "egress");
    case NetKind::Xdp:
      return fmt::format("{} (XDP{})", t.ifname,
                         t.xdp_flags & XDP_FLAGS_SKB_MODE   ? ", generic mode"
                         : t.xdp_flags & XDP_FLAGS_DRV_MODE ? ", driver mode"
                                                            : "");
    case NetKind::Cgroup:
      return "cgroup " + t.cgroup;
    case NetKind::None:
      break;
  }
  return {};
}

void prepare_tcx_hooks(struct bpf_object* object, const package::Meta& meta, const NetOptions& options) {
  if (options.tc_netlink) return;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object) {
    if (net_kind(prog) != NetKind::Tc) continue;
    const package::Prog* info = nullptr;
    for (const auto& p : meta.progs)
      if (p.name == bpf_program__name(prog)) info = &p;
    NetTarget t = plan_net_target(prog, info, options);
    bpf_program__set_expected_attach_type(prog, t.ingress ? kTcxIngress : kTcxEgress);
  }
}

int attach_net(const struct bpf_program* prog, const NetTarget& t, const NetOptions& options,
               std::optional<TcFilter>& filter) {
  int prog_fd = bpf_program__fd(prog);
  std::string label = fmt::format("program '{}'", prog_name(prog));
  if (t.kind == NetKind::Cgroup) {
    int cgroup_fd = open(t.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) throw Error("cannot open cgroup " + t.cgroup + ": " + errno_text(errno));
    struct bpf_link* link = bpf_program__attach_cgroup(prog, cgroup_fd);
    long err = libbpf_get_error(link);
    close(cgroup_fd);
    if (err) throw Error(fmt::format("cannot attach {} to cgroup {}: {}", label, t.cgroup, errno_text(static_cast<int>(err))));
    return link_fd(link);
  }
  if (t.kind == NetKind::Xdp) {
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = t.xdp_flags);
    int fd = bpf_link_create(prog_fd, t.ifindex, BPF_XDP, &opts);
    if (fd >= 0) return fd;
    int err = errno;
    if (err == EBUSY || err == EEXIST)
      throw Error(fmt::format("cannot attach {} to {}: an XDP program is already attached there (by another tool); "
                              "ecli leaves it in place",
                              label, t.ifname));
    throw Error(fmt::format("cannot attach {} to {} with XDP: {}", label, t.ifname, errno_text(err)));
  }
  // tc: a tcx link where the kernel has them.
  if (!options.tc_netlink) {
    // The hook is the program's expected attach type, set before loading by prepare_tcx_hooks.
    struct bpf_link* link = bpf_program__attach_tcx(prog, t.ifindex, nullptr);
    long err = libbpf_get_error(link);
    if (!err) return link_fd(link);
    if (err != -EINVAL && err != -EOPNOTSUPP)
      throw Error(fmt::format("cannot attach {} to {}: {}", label, describe_target(t), errno_text(static_cast<int>(err))));
    // An older kernel without tcx: fall back to a clsact filter.
  }
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = t.ifindex, .attach_point = t.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  int err = bpf_tc_hook_create(&hook);
  if (err && err != -EEXIST)
    throw Error(fmt::format("cannot add a clsact qdisc to {}: {}", t.ifname, errno_text(err)));
  TcFilter f{t.ifindex, t.ingress, t.handle, t.priority, 0, err == 0};
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = t.handle, .priority = t.priority);
  err = bpf_tc_attach(&hook, &opts);
  if (err) {
    if (f.created_qdisc) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    if (err == -EEXIST)
      throw Error(fmt::format("cannot attach {} to {}: handle {} priority {} is already taken there; choose others "
                              "with @tcopts",
                              label, describe_target(t), t.handle, t.priority));
    throw Error(fmt::format("cannot attach {} to {}: {}", label, describe_target(t), errno_text(err)));
  }
  f.prog_id = opts.prog_id;
  filter = f;
  return -1;
}

void detach_tc_filter(const TcFilter& f) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f.ifindex, .attach_point = f.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f.handle, .priority = f.priority);
  bpf_tc_detach(&hook, &opts);
  if (f.created_qdisc) {
    // The clsact qdisc was ours; one that existed before stays.
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);
  }
}

void record_tc_filters(const std::vector<TcFilter>& filters) {
  package::Json list = package::Json::array();
  for (const auto& f : filters)
    list.push_back({{"ifindex", f.ifindex},
                    {"ingress", f.ingress},
                    {"handle", f.handle},
                    {"priority", f.priority},
                    {"prog_id", f.prog_id},
                    {"created_qdisc", f.created_qdisc}});
  std::error_code ec;
  std::filesystem::create_directories(kStateDir, ec);
  try {
    write_file_atomic(state_file(getpid()), list.dump());
  } catch (const Error&) {
    // Without the record `ecli cleanup` cannot help, but the run itself is fine.
  }
}

void forget_tc_filters() {
  std::error_code ec;
  std::filesystem::remove(state_file(getpid()), ec);
}

std::vector<std::string> cleanup_stale_tc_filters() {
  std::vector<std::string> done;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kStateDir, ec)) {
    std::string name = entry.path().filename();
    if (!name.starts_with("tc-") || !name.ends_with(".json")) continue;
    pid_t pid = static_cast<pid_t>(atoi(name.c_str() + 3));
    if (pid > 0 && kill(pid, 0) == 0) continue;  // still running: its own exit cleans up
    auto list = package::Json::parse(read_file(entry.path()), nullptr, false);
    if (list.is_array()) {
      for (const auto& j : list) {
        TcFilter f{j.value("ifindex", 0), j.value("ingress", true), j.value("handle", 0u), j.value("priority", 0u),
                   j.value("prog_id", 0u), j.value("created_qdisc", false)};
        // Only a filter that still runs the program we attached is ours to remove.
        LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f.ifindex,
                    .attach_point = f.ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
        LIBBPF_OPTS(bpf_tc_opts, query, .handle = f.handle, .priority = f.priority);
        if (bpf_tc_query(&hook, &query) == 0 && query.prog_id == f.prog_id) {
          detach_tc_filter(f);
          char ifname[IF_NAMESIZE] = "?";
          if_indextoname(static_cast<unsigned>(f.ifindex), ifname);
          done.push_back(fmt::format("removed the tc filter left on {} {} (handle {} priority {}) by ecli pid {}",
                                     ifname, f.ingress ? "ingress" : "egress", f.handle, f.priority, pid));
        }
      }
    }
    std::filesystem::remove(entry.path(), ec);
  }
  return done;
}

}  // namespace ecli::runtime
