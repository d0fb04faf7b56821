#pragma once
// The kernel BTF that an object's CO-RE relocations are made against.
//
// libbpf otherwise parses and checks all of /sys/kernel/btf/vmlinux (over
// 100k types, about 10 ms and 11 MB) and compares every name in it with each
// relocation's type, to relocate a few field accesses. Before the first load
// of an object on a kernel, ecli cuts the kernel's BTF to the types those
// relocations can read (btf/core_subset.hpp: a single pass over the mapped
// file, about 1 ms) and caches the result per object and kernel; libbpf gets
// that file instead and does every relocation itself.
#include <filesystem>
#include <string>

namespace ecli::runtime {

// Whether the ELF object has CO-RE relocations (a .BTF.ext with core_relo records).
bool has_core_relocations(const std::string& elf);

class CoreBtfCache {
 public:
  // `elf` is the object as it will be loaded (before any option is applied).
  explicit CoreBtfCache(const std::string& elf);
  ~CoreBtfCache();
  CoreBtfCache(const CoreBtfCache&) = delete;
  CoreBtfCache& operator=(const CoreBtfCache&) = delete;

  // The BTF to relocate against: the cached file, or one cut now (and cached
  // when the cache is writable). Empty when libbpf must use the kernel's
  // full BTF: no CO-RE relocation, a relocation that needs the kernel's own
  // type ids, or a type the kernel's BTF lacks (libbpf then searches modules).
  std::filesystem::path path();
  // A note for -v on where `path()` came from.
  const std::string& note() const { return note_; }
  // Drops a file that failed to serve a load, and cuts a new one for the next run.
  void forget();

 private:
  std::filesystem::path cut();

  std::string elf_;
  std::filesystem::path path_;  // the cache file; empty: no cut BTF for this object
  int memfd_ = -1;              // the cut BTF when the cache is not writable
  std::string note_;
};

}  // namespace ecli::runtime
