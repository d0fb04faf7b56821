#pragma once
// Container names from the state the runtimes keep on disk (issue 11), read
// as files so that nothing is executed: podman's containers.json (root:
// /var/lib/containers/storage/overlay-containers/), docker's
// /var/lib/docker/containers/<id>/config.v2.json, and the OCI bundles of
// containerd (/run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/config.json)
// and CRI-O (/run/containers/storage/overlay-containers/<id>/userdata/config.json),
// whose Kubernetes annotations name the container and its pod.
//
// The parsers take text and never throw: a file that is missing, unreadable
// or not what we expect gives no names, and the id alone is shown.
#include <string>
#include <string_view>
#include <vector>

#include "containers/cgroup_path.hpp"

namespace ecli::containers {

struct ContainerRecord {
  std::string id;
  std::string name;  // empty when the state does not say
  Runtime runtime = Runtime::Unknown;
};

// podman/CRI-O storage's containers.json: [{"id": ..., "names": [...]}, ...].
std::vector<ContainerRecord> parse_storage_containers(std::string_view json, Runtime runtime);
// docker's config.v2.json: "Name" ("/web" -> "web"); empty when absent.
std::string parse_docker_name(std::string_view json);
// An OCI bundle's config.json: the Kubernetes container and pod names from its
// annotations (containerd: io.kubernetes.cri.container-name/sandbox-name;
// CRI-O: io.kubernetes.container.name/pod.name), as "pod/container"; else
// nerdctl's "nerdctl/name"; empty when none is there.
std::string parse_bundle_name(std::string_view json);

// Where the runtimes keep their state; tests point `root` at a fixture tree.
struct StatePaths {
  std::string root = "/";
  std::string podman_containers() const;  // containers.json of root podman
  std::string docker_containers() const;  // the folder of one folder per container
  std::string containerd_tasks() const;   // one folder per namespace, then per container
  std::string crio_containers() const;    // CRI-O's run-time storage
};

// Every container the runtimes know (running or not), with names where the
// state says them.
std::vector<ContainerRecord> read_all_containers(const StatePaths& paths);
// The name of one container by id, looked up where its runtime keeps it
// (podman through `podman_records`, read by the caller).
std::string read_container_name(const StatePaths& paths, const std::string& id, Runtime runtime,
                                const std::vector<ContainerRecord>& podman_records);

}  // namespace ecli::containers
