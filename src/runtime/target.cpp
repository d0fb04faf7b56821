#include "runtime/target.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <iostream>

#include "btf/object_meta.hpp"
#include "distribution/blob_cache.hpp"
#include "distribution/minisign.hpp"
#include "distribution/oci_artifact.hpp"
#include "distribution/oci_reference.hpp"
#include "distribution/url_download.hpp"
#include "util/error.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"
#include "util/subprocess.hpp"

namespace ecli::runtime {
namespace fs = std::filesystem;
namespace {

// ecc installed beside ecli wins over one on PATH: they must match.
std::string find_ecc() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path sibling = self.parent_path() / "ecc";
    if (access(sibling.c_str(), X_OK) == 0) return sibling.string();
  }
  return "ecc";
}

std::string file_identity(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return path;
  return path + ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_size);
}

// The package for a source, from the cache when the source, the headers beside
// it, ecc and its compiler ecc-clang are unchanged.
package::Package compile_source(const fs::path& source, const std::string& text, bool verbose,
                                std::future<std::unique_ptr<TracePipe>>* trace_pipe) {
  std::string ecc = find_ecc();
  Hasher key;
  key.add(text).add(file_identity(ecc)).add(fs::absolute(source).parent_path().string());
  if (ecc.find('/') != std::string::npos) key.add(file_identity((fs::path(ecc).parent_path() / "ecc-clang").string()));
  std::error_code ec;
  std::vector<fs::path> headers;
  for (const auto& entry : fs::directory_iterator(fs::absolute(source).parent_path(), ec))
    if (entry.path().extension() == ".h") headers.push_back(entry.path());
  std::sort(headers.begin(), headers.end());
  for (const auto& h : headers) key.add(h.filename().string()).add(read_file(h));

  fs::path entry = cache_dir() / "packages" / key.hex();
  fs::path package_path = entry / "package.json";
  remove_stale_temporaries(entry.parent_path());  // "<key>.tmp.<pid>" of runs killed with -9
  if (!fs::exists(package_path)) {
    fs::path tmp = entry;
    tmp += ".tmp." + std::to_string(getpid());
    fs::create_directories(tmp);
    if (verbose) std::cerr << "ecli: compiling " << source.string() << " with " << ecc << "\n";
    // A guess from the text: a wrong one costs an unused tracefs instance.
    if (trace_pipe && (text.find("bpf_printk") != std::string::npos || text.find("trace_printk") != std::string::npos))
      *trace_pipe = std::async(std::launch::async, [] { return TracePipe::open(); });
    ProcessResult result = run_process({ecc, "-q", "-o", tmp.string(), source.string()});
    if (result.exit_code != 0) {
      fs::remove_all(tmp, ec);
      // ecc's own last line already says what failed; keep its diagnostics above ours.
      std::string output = result.output;
      throw Error("cannot compile " + source.string(), output);
    }
    if (!result.output.empty()) std::cerr << result.output;
    fs::rename(tmp, entry, ec);
    if (ec) fs::remove_all(tmp, ec);  // another ecli won the race: use its entry
  }
  return package::parse_package(read_file(package_path));
}

// The keys TARGET must be signed by: those given, and the policy's when it requires signatures.
struct RequiredKeys {
  std::vector<distribution::PublicKey> given;
  std::optional<distribution::Policy> policy;
  bool any() const { return !given.empty() || (policy && policy->require_signatures); }
};

RequiredKeys required_keys(const TargetOptions& options) {
  RequiredKeys keys;
  for (const auto& arg : options.verify_keys) keys.given.push_back(distribution::read_public_key(arg));
  keys.policy = distribution::read_policy(distribution::policy_path());
  return keys;
}

// The bytes checked are the bytes then parsed: nothing is read twice.
// SIGNATURE is the .minisig text (nullopt: none, MISSING says why).
void check_signature(const RequiredKeys& keys, const std::string& name, std::string_view data,
                     const std::optional<std::string>& signature, const std::string& signature_name,
                     const std::string& missing) {
  namespace dist = distribution;
  if (!keys.given.empty()) {
    dist::PublicKey key = dist::verify_signature(name, data, signature, signature_name, missing, keys.given);
    std::cerr << "ecli: verified signature of " << name << " by key " << dist::key_id_hex(key.id) << "\n";
  }
  if (keys.policy && keys.policy->require_signatures) {
    dist::PublicKey key = dist::verify_signature(name, data, signature, signature_name, missing,
                                                 keys.policy->trusted_keys, "a trusted key");
    if (keys.given.empty())
      std::cerr << "ecli: verified signature of " << name << " by trusted key " << dist::key_id_hex(key.id) << "\n";
  }
}

// A package or BPF object from a URL or a registry (no C sources: ecc runs on local files only).
Target load_remote(const std::string& name, const TargetOptions& options, const RequiredKeys& keys) {
  namespace dist = distribution;
  dist::RemoteOptions remote = options.remote;
  remote.want_signature = keys.any();
  dist::BlobCache cache;
  dist::RemotePackage fetched = dist::is_url(name) ? dist::fetch_url(name, remote, cache)
                                                   : dist::pull_package(dist::parse_reference(name), remote, cache);
  check_signature(keys, name, fetched.data, fetched.signature, fetched.signature_name, fetched.missing_signature);
  Target target;
  target.usage_name = name;
  std::string& text = fetched.data;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (text.size() >= 4 && std::memcmp(text.data(), "\x7f" "ELF", 4) == 0) {
    package::check_bpf_elf(text, name);
    target.package.meta = btf::describe_object(text, btf::object_name_for(name));
    target.package.object = std::move(text);
  } else if (first != std::string::npos && text[first] == '{') {
    try {
      target.package = package::parse_package(text);
    } catch (const Error& e) {
      throw Error(name + ": " + e.what());
    }
  } else {
    throw Error(name + " is neither a package (JSON) nor a BPF object (ELF)");
  }
  return target;
}

}  // namespace

Target load_target(const std::string& path, bool verbose, const TargetOptions& options) {
  if (verbose) {
    cache_dir();  // decide now whether the cache is usable, to say so once before anything uses it
    if (std::string note = cache_fallback_note(); !note.empty()) std::cerr << note << "\n";
  }
  RequiredKeys keys = required_keys(options);
  std::error_code exists_ec;
  if (!fs::exists(path, exists_ec) &&
      (distribution::is_url(path) || distribution::looks_like_reference(path)))
    return load_remote(path, options, keys);
  Target target;
  target.usage_name = path;
  std::string text = read_file(path);
  if (keys.any()) {
    std::string signature_path = path + ".minisig";
    std::optional<std::string> signature;
    if (fs::exists(signature_path, exists_ec)) signature = read_file(signature_path);
    check_signature(keys, path, text, signature, signature_path, signature_path + " does not exist");
  }
  if (text.empty()) throw Error(path + " is empty");

  size_t first = text.find_first_not_of(" \t\r\n");
  if (text.size() >= 4 && std::memcmp(text.data(), "\x7f" "ELF", 4) == 0) {
    package::check_bpf_elf(text, path);
    target.package.meta = btf::describe_object(text, btf::object_name_for(path));
    target.package.object = std::move(text);
  } else if (path.ends_with(".c")) {
    target.package =
        compile_source(path, text, verbose, options.prepare_trace_pipe ? &target.trace_pipe : nullptr);
  } else if (first != std::string::npos && text[first] == '{') {
    try {
      target.package = package::parse_package(text);
    } catch (const Error& e) {
      throw Error(path + ": " + e.what());
    }
  } else if (first == std::string::npos) {
    throw Error(path + " is empty");
  } else {
    throw Error(path + " is neither a package (JSON), a BPF object (ELF) nor a BPF C source (.c)");
  }
  return target;
}

}  // namespace ecli::runtime
