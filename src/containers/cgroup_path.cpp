#include "containers/cgroup_path.hpp"

#include <vector>

namespace ecli::containers {
namespace {

bool is_hex(std::string_view text) {
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return !text.empty();
}

std::string_view strip(std::string_view text, std::string_view prefix, std::string_view suffix) {
  if (!text.starts_with(prefix)) return {};
  text.remove_prefix(prefix.size());
  if (!suffix.empty()) {
    if (!text.ends_with(suffix)) return {};
    text.remove_suffix(suffix.size());
  }
  return text;
}

enum class Match { None, Container, Monitor };

// One path component: a container's own cgroup, a runtime's monitor, or neither.
Match match_component(std::string_view name, std::string_view parent, bool under_kubepods, CgroupContainer& out) {
  // Monitors first: "libpod-conmon-<id>" also starts with "libpod-".
  for (std::string_view monitor : {"libpod-conmon-", "crio-conmon-"})
    if (name.starts_with(monitor)) return Match::Monitor;
  struct Layout {
    std::string_view prefix, suffix;
    Runtime runtime;
  };
  static constexpr Layout kLayouts[] = {
      {"libpod-", ".scope", Runtime::Podman},              // podman, systemd driver
      {"libpod-", "", Runtime::Podman},                    // podman, cgroupfs driver
      {"docker-", ".scope", Runtime::Docker},              // docker, systemd driver
      {"cri-containerd-", ".scope", Runtime::Containerd},  // containerd's CRI, systemd driver
      {"crio-", ".scope", Runtime::CriO},                  // CRI-O, systemd driver
      {"crio-", "", Runtime::CriO},
      {"nerdctl-", ".scope", Runtime::Containerd},         // nerdctl (containerd), systemd driver
  };
  for (const auto& layout : kLayouts) {
    std::string_view id = strip(name, layout.prefix, layout.suffix);
    if (is_container_id(id)) {
      out = {layout.runtime, std::string(id)};
      return Match::Container;
    }
  }
  if (is_container_id(name)) {  // cgroupfs drivers name the cgroup by the bare id
    Runtime runtime = parent == "docker" ? Runtime::Docker
                      : under_kubepods   ? Runtime::Kubernetes
                                         : Runtime::Unknown;
    out = {runtime, std::string(name)};
    return Match::Container;
  }
  return Match::None;
}

}  // namespace

std::string_view runtime_name(Runtime runtime) {
  switch (runtime) {
    case Runtime::Podman: return "podman";
    case Runtime::Docker: return "docker";
    case Runtime::Containerd: return "containerd";
    case Runtime::CriO: return "cri-o";
    case Runtime::Kubernetes: return "kubernetes";
    case Runtime::Unknown: break;
  }
  return "unknown";
}

bool is_container_id(std::string_view text) { return text.size() == 64 && is_hex(text); }

std::optional<CgroupContainer> container_of_cgroup(std::string_view path) {
  std::vector<std::string_view> parts;
  for (size_t start = 0; start <= path.size();) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  bool under_kubepods = !parts.empty() && parts.front().starts_with("kubepods");
  // From the innermost component out: a container's sub-cgroups ("/container",
  // a service inside it) belong to it, and a nested container beats its host.
  for (size_t i = parts.size(); i-- > 0;) {
    CgroupContainer found;
    switch (match_component(parts[i], i ? parts[i - 1] : std::string_view(), under_kubepods, found)) {
      case Match::Container: return found;
      case Match::Monitor: return std::nullopt;
      case Match::None: break;
    }
  }
  return std::nullopt;
}

std::string cgroup_of_proc(std::string_view text) {
  std::string_view first_v1;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    // "hierarchy-id:controllers:path"; the path may itself hold ':'.
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view id = line.substr(0, first), path = line.substr(second + 1);
    if (id == "0" && first + 1 == second) {
      if (!path.empty()) return std::string(path);
      continue;
    }
    if (first_v1.empty() && !path.empty() && path != "/") first_v1 = path;
  }
  return std::string(first_v1);
}

}  // namespace ecli::containers
