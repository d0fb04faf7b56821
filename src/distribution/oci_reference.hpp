#pragma once
// Registry references as docker and podman write them:
// HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]. ecli always needs the host
// (no implicit docker.io): a TARGET is a reference when it is not a file,
// has no URL scheme, and its first component looks like a host.
#include <string>
#include <string_view>

namespace ecli::distribution {

struct Reference {
  std::string registry;    // "localhost:5000", "ghcr.io"
  std::string repository;  // "tools/opensnoop"
  std::string tag;         // "1.0"; "latest" when neither tag nor digest is given
  std::string digest;      // "sha256:..." or empty

  // The tag or digest as the registry's /manifests/<reference> wants it.
  std::string manifest_reference() const { return digest.empty() ? tag : digest; }
  // registry/repository[:tag][@digest]
  std::string str() const;
  // registry/repository
  std::string name() const { return registry + "/" + repository; }
};

// True when TEXT's first path component looks like a registry host:
// it contains '.' or ':' or is "localhost", and something follows it.
bool looks_like_reference(std::string_view text);

// Throws Error with one line saying what is wrong with TEXT.
Reference parse_reference(std::string_view text);

}  // namespace ecli::distribution
