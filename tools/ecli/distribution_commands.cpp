#include "distribution_commands.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <iostream>

#include "distribution/blob_cache.hpp"
#include "distribution/minisign.hpp"
#include "distribution/oci_artifact.hpp"
#include "distribution/oci_reference.hpp"
#include "distribution/url_download.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::cli {
namespace fs = std::filesystem;
namespace dist = ecli::distribution;
namespace {

// The first line of stdin, without its line end.
std::string read_stdin_line(const std::string& option) {
  std::string line;
  if (!std::getline(std::cin, line)) throw Error(option + ": nothing on stdin");
  if (line.ends_with('\r')) line.pop_back();
  return line;
}

int report(const Error& e) {
  if (!e.details().empty()) std::cerr << e.details();
  std::cerr << "ecli: " << e.what() << "\n";
  return 1;
}

void add_registry_options(CLI::App& cmd, std::string& username, bool& password_stdin, bool& insecure) {
  cmd.add_option("--username", username, "Registry user (the password comes from --password-stdin)")
      ->type_name("USER");
  cmd.add_flag("--password-stdin", password_stdin, "Read the registry password from the first line of stdin");
  cmd.add_flag("--insecure", insecure,
               "Plain HTTP: registries on loopback only; URL targets from other hosts than loopback");
}

}  // namespace

DistributionCommands::DistributionCommands(CLI::App& app, CLI::App& run, runtime::TargetOptions& source)
    : source_(source), run_(&run) {
  run.add_option("--verify-key", source.verify_keys,
                 "Refuse TARGET unless it is signed by this minisign public key (a .pub file or the base64 key; "
                 "repeatable: any of them). The signature is FILE.minisig beside a file, URL.minisig for a URL, "
                 "the registry's signature artifact for a REF")
      ->type_name("PUB")
      ->allow_extra_args(false);
  run.add_option("--pull", pull_policy_,
                 "URL and registry targets: always download, only when missing from the cache (default), or never "
                 "(offline)")
      ->type_name("always|missing|never");
  add_registry_options(run, username_, password_stdin_, insecure_);

  push_ = app.add_subcommand("push", "Push PACKAGE (and PACKAGE.minisig when beside it) to an OCI registry as REF");
  push_->add_option("PACKAGE", package_, "A package.json from ecc")->required();
  push_->add_option("REF", reference_, "HOST[:PORT]/REPOSITORY[:TAG]")->required();
  add_registry_options(*push_, username_, password_stdin_, insecure_);

  pull_ = app.add_subcommand("pull", "Pull REF (or a URL) into the cache and write DIR/package.json (and its .minisig)");
  pull_->add_option("REF", reference_, "HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST], or an http(s) URL")->required();
  pull_->add_option("-o,--output", output_dir_, "Folder to write package.json into (default: the current one)")
      ->type_name("DIR");
  pull_->add_option("--pull", pull_policy_, "always (default for pull), missing or never")
      ->type_name("always|missing|never");
  add_registry_options(*pull_, username_, password_stdin_, insecure_);

  sign_ = app.add_subcommand(
      "sign", "Sign PACKAGE with a minisign secret key: writes PACKAGE.minisig beside it, or for a registry REF "
              "pushes the signature as the artifact tagged sha256-<digest>.minisig");
  sign_->add_option("PACKAGE", package_, "The package.json, .bpf.o or file to sign, or a registry REF")->required();
  sign_->add_option("-k,--key", secret_key_, "Secret key file from minisign -G or ecli keygen")
      ->required()
      ->type_name("SECRET_KEY");
  sign_->add_flag("--password-stdin", key_password_stdin_,
                  "Read the secret key's password from the first line of stdin");
  sign_->add_flag("--insecure", insecure_, "REF: plain HTTP to a registry on loopback");

  keygen_ = app.add_subcommand("keygen", "Make a minisign key pair: BASENAME.pub and BASENAME.key");
  keygen_->add_option("-o,--output", key_basename_, "Path and name of the files without suffix (default: minisign)")
      ->type_name("BASENAME");
  auto* no_password = keygen_->add_flag("--no-password", no_password_, "Leave the secret key unencrypted (minisign -W)");
  keygen_->add_flag("--password-stdin", key_password_stdin_, "Encrypt the secret key with the first line of stdin")
      ->excludes(no_password);
}

std::optional<int> DistributionCommands::dispatch() {
  try {
    if (push_->parsed() || pull_->parsed() || run_->parsed()) {
      // `ecli pull` asks the registry unless told otherwise.
      source_.remote.pull = pull_->parsed() && pull_->count("--pull") == 0 ? dist::PullPolicy::Always
                                                                           : dist::parse_pull_policy(pull_policy_);
      source_.remote.registry.insecure = insecure_;
      if (!username_.empty() && !password_stdin_)
        throw Error("--username " + username_ + " needs the password on stdin: add --password-stdin");
      if (password_stdin_ && username_.empty()) throw Error("--password-stdin needs --username");
      if (password_stdin_)
        source_.remote.registry.credentials = dist::Credentials{username_, read_stdin_line("--password-stdin")};
    }
    if (push_->parsed()) return push();
    if (pull_->parsed()) return pull();
    if (sign_->parsed()) return sign();
    if (keygen_->parsed()) return keygen();
  } catch (const Error& e) {
    return report(e);
  } catch (const std::exception& e) {  // filesystem and JSON errors: still one line
    std::cerr << "ecli: " << e.what() << "\n";
    return 1;
  }
  return std::nullopt;
}

int DistributionCommands::push() {
  dist::Reference ref = dist::parse_reference(reference_);
  std::string digest = dist::push_package(package_, ref, source_.remote.registry);
  bool signed_ = fs::exists(package_ + ".minisig");
  std::cerr << "ecli: pushed " << package_ << (signed_ ? " and its signature" : "") << " to " << ref.str() << "\n";
  std::cout << ref.name() << "@" << digest << "\n";
  return 0;
}

int DistributionCommands::pull() {
  dist::RemoteOptions remote = source_.remote;
  remote.want_signature = true;
  dist::BlobCache cache;
  dist::RemotePackage package = dist::is_url(reference_)
                                    ? dist::fetch_url(reference_, remote, cache)
                                    : dist::pull_package(dist::parse_reference(reference_), remote, cache);
  std::error_code ec;
  fs::create_directories(output_dir_, ec);
  if (ec) throw Error("cannot create " + output_dir_ + ": " + ec.message());
  fs::path path = fs::path(output_dir_) / "package.json";
  write_file_atomic(path, package.data);
  fs::path signature_path = path.string() + ".minisig";
  if (package.signature) {
    write_file_atomic(signature_path, *package.signature);
  } else {
    fs::remove(signature_path, ec);  // an old one would not belong to this package
  }
  std::cerr << "ecli: pulled " << package.name << " (" << package.digest << ") to " << path.string()
            << (package.signature ? " with its signature" : ", unsigned") << "\n";
  return 0;
}

int DistributionCommands::sign() {
  std::optional<std::string> password;
  if (key_password_stdin_) password = read_stdin_line("--password-stdin");
  std::error_code ec;
  if (!fs::exists(package_, ec) && dist::looks_like_reference(package_)) {
    dist::Reference ref = dist::parse_reference(package_);
    dist::RegistryOptions options;
    options.insecure = insecure_;
    std::string pushed = dist::sign_reference(ref, secret_key_, password, options);
    std::cerr << "ecli: pushed the signature of " << ref.str() << " as " << pushed << "\n";
    return 0;
  }
  std::string written = dist::sign_file(package_, secret_key_, password);
  std::cerr << "ecli: wrote " << written << "\n";
  return 0;
}

int DistributionCommands::keygen() {
  if (!no_password_ && !key_password_stdin_)
    throw Error("keygen: choose --no-password (an unencrypted key) or --password-stdin");
  std::optional<std::string> password;
  if (key_password_stdin_) {
    password = read_stdin_line("--password-stdin");
    if (password->empty()) throw Error("--password-stdin: the password is empty (use --no-password for none)");
  }
  std::string pub_path = key_basename_ + ".pub", sec_path = key_basename_ + ".key";
  for (const auto& path : {pub_path, sec_path})
    if (fs::exists(path)) throw Error(path + " exists already; ecli keygen does not overwrite keys");
  auto [pub, sec] = dist::generate_key_pair();
  std::string sec_text = dist::encode_secret_key(sec, password);
  sec.key.fill(0);
  mode_t old_mask = umask(077);  // the secret key is readable by its owner only
  try {
    write_file_atomic(sec_path, sec_text);
  } catch (...) {
    umask(old_mask);
    throw;
  }
  umask(old_mask);
  write_file_atomic(pub_path, dist::encode_public_key(pub));
  std::cerr << "ecli: wrote " << pub_path << " and " << sec_path << " (key " << dist::key_id_hex(pub.id) << ")\n";
  return 0;
}

}  // namespace ecli::cli
