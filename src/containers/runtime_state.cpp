#include "containers/runtime_state.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace ecli::containers {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// State files are small; one larger than this is not what we expect.
constexpr std::uintmax_t kMaxStateFile = 64 << 20;

std::string read_small_file(const fs::path& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec || size > kMaxStateFile) return {};
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

json parse(std::string_view text) { return json::parse(text.begin(), text.end(), nullptr, false); }

std::string string_at(const json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string joined(const std::string& pod, const std::string& container) {
  if (pod.empty()) return container;
  if (container.empty()) return pod;
  return pod + "/" + container;
}

}  // namespace

std::vector<ContainerRecord> parse_storage_containers(std::string_view text, Runtime runtime) {
  std::vector<ContainerRecord> out;
  json doc = parse(text);
  if (!doc.is_array()) return out;
  for (const auto& c : doc) {
    std::string id = string_at(c, "id");
    if (!is_container_id(id)) continue;
    ContainerRecord record{id, {}, runtime};
    if (auto names = c.find("names"); names != c.end() && names->is_array() && !names->empty() &&
                                      names->front().is_string())
      record.name = names->front().get<std::string>();
    out.push_back(std::move(record));
  }
  return out;
}

std::string parse_docker_name(std::string_view text) {
  std::string name = string_at(parse(text), "Name");
  if (name.starts_with('/')) name.erase(0, 1);
  return name;
}

std::string parse_bundle_name(std::string_view text) {
  json doc = parse(text);
  if (!doc.is_object() || !doc.contains("annotations")) return {};
  const json& a = doc["annotations"];
  // containerd's CRI plugin
  std::string name = joined(string_at(a, "io.kubernetes.cri.sandbox-name"), string_at(a, "io.kubernetes.cri.container-name"));
  if (name.empty())  // CRI-O
    name = joined(string_at(a, "io.kubernetes.pod.name"), string_at(a, "io.kubernetes.container.name"));
  if (name.empty()) name = string_at(a, "nerdctl/name");
  return name;
}

std::string StatePaths::podman_containers() const {
  return (fs::path(root) / "var/lib/containers/storage/overlay-containers/containers.json").string();
}
std::string StatePaths::docker_containers() const { return (fs::path(root) / "var/lib/docker/containers").string(); }
std::string StatePaths::containerd_tasks() const {
  return (fs::path(root) / "run/containerd/io.containerd.runtime.v2.task").string();
}
std::string StatePaths::crio_containers() const {
  return (fs::path(root) / "run/containers/storage/overlay-containers").string();
}

std::vector<ContainerRecord> read_all_containers(const StatePaths& paths) {
  std::vector<ContainerRecord> out = parse_storage_containers(read_small_file(paths.podman_containers()), Runtime::Podman);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.docker_containers(), ec)) {
    std::string id = entry.path().filename().string();
    if (!is_container_id(id)) continue;
    out.push_back({id, parse_docker_name(read_small_file(entry.path() / "config.v2.json")), Runtime::Docker});
  }
  for (const auto& ns : fs::directory_iterator(paths.containerd_tasks(), ec)) {
    std::error_code inner;
    for (const auto& entry : fs::directory_iterator(ns.path(), inner)) {
      std::string id = entry.path().filename().string();
      if (!is_container_id(id)) continue;
      out.push_back({id, parse_bundle_name(read_small_file(entry.path() / "config.json")), Runtime::Containerd});
    }
  }
  for (const auto& entry : fs::directory_iterator(paths.crio_containers(), ec)) {
    std::string id = entry.path().filename().string();
    if (!is_container_id(id)) continue;
    // Root podman keeps its run-time state in the same folder: its containers are in containers.json already.
    bool known = false;
    for (const auto& r : out) known |= r.id == id;
    if (known) continue;
    out.push_back({id, parse_bundle_name(read_small_file(entry.path() / "userdata/config.json")), Runtime::CriO});
  }
  return out;
}

std::string read_container_name(const StatePaths& paths, const std::string& id, Runtime runtime,
                                const std::vector<ContainerRecord>& podman_records) {
  if (!is_container_id(id)) return {};
  auto podman = [&]() -> std::string {
    for (const auto& r : podman_records)
      if (r.id == id) return r.name;
    return {};
  };
  auto docker = [&] { return parse_docker_name(read_small_file(fs::path(paths.docker_containers()) / id / "config.v2.json")); };
  auto containerd = [&]() -> std::string {
    std::error_code ec;
    for (const auto& ns : fs::directory_iterator(paths.containerd_tasks(), ec)) {
      fs::path config = ns.path() / id / "config.json";
      if (fs::exists(config, ec)) return parse_bundle_name(read_small_file(config));
    }
    return {};
  };
  auto crio = [&] {
    return parse_bundle_name(read_small_file(fs::path(paths.crio_containers()) / id / "userdata/config.json"));
  };
  switch (runtime) {
    case Runtime::Podman: return podman();
    case Runtime::Docker: return docker();
    case Runtime::Containerd: return containerd();
    case Runtime::CriO: return crio();
    case Runtime::Kubernetes:
    case Runtime::Unknown: break;
  }
  // The path did not say which runtime: ask each.
  for (auto& name : {podman(), docker(), containerd(), crio()})
    if (!name.empty()) return name;
  return {};
}

}  // namespace ecli::containers
