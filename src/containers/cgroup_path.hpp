#pragma once
// Which container a cgroup path belongs to (issue 11): the layouts that
// podman, docker, containerd (also under Kubernetes) and CRI-O give their
// containers' cgroups, under the cgroupfs and the systemd drivers. Pure text
// work, no file is read here.
#include <optional>
#include <string>
#include <string_view>

namespace ecli::containers {

enum class Runtime { Podman, Docker, Containerd, CriO, Kubernetes, Unknown };

// "podman", "docker"... as messages name them. Kubernetes: a cgroupfs pod
// layout that does not say whether containerd or CRI-O made it.
std::string_view runtime_name(Runtime runtime);

struct CgroupContainer {
  Runtime runtime = Runtime::Unknown;
  std::string id;  // 64 lowercase hex digits
};

// The container of a cgroup path such as "/libpod_parent/libpod-<id>",
// "/machine.slice/libpod-<id>.scope/container", "/docker/<id>",
// "/system.slice/docker-<id>.scope", "/kubepods/burstable/pod<uid>/<id>",
// ".../cri-containerd-<id>.scope", ".../crio-<id>.scope". The innermost
// container wins (docker in docker). nullopt for the host and for the
// runtimes' monitors (conmon: "libpod-conmon-<id>", "crio-conmon-<id>"),
// which are not the container.
std::optional<CgroupContainer> container_of_cgroup(std::string_view path);

// The cgroup path of a process from the text of /proc/PID/cgroup: the unified
// hierarchy's line ("0::/path"), else (cgroup v1 only) the first non-empty
// path of a named or controller hierarchy. Empty when there is none.
std::string cgroup_of_proc(std::string_view proc_cgroup);

// True for 64 lowercase hex digits.
bool is_container_id(std::string_view text);

}  // namespace ecli::containers
