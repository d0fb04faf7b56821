#pragma once
// A minimal kernel BTF per (object, kernel) for CO-RE relocations.
//
// libbpf otherwise parses all of /sys/kernel/btf/vmlinux (over 100k types,
// about 10 ms and 10 MB) to relocate a few field accesses. bpftool's BTFGen
// (`bpftool gen min_core_btf`) writes just the types an object's relocations
// need; the first run of an object on a kernel makes it as it exits, and later
// runs hand it to libbpf instead. Without bpftool nothing is cached and
// libbpf uses the full BTF as before.
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>

namespace ecli::runtime {

// Whether the ELF object has CO-RE relocations (a .BTF.ext with core_relo records).
bool has_core_relocations(const std::string& elf);

class CoreBtfCache {
 public:
  // `elf` is the object as it will be loaded (before any option is applied).
  explicit CoreBtfCache(const std::string& elf);
  ~CoreBtfCache();  // stops an unfinished generation and removes its files
  CoreBtfCache(const CoreBtfCache&) = delete;
  CoreBtfCache& operator=(const CoreBtfCache&) = delete;

  // The cached minimal BTF, or empty when there is none (or it is not needed).
  std::filesystem::path cached() const;
  // Drops a cached file that failed to serve a load.
  void forget();
  // Runs `bpftool gen min_core_btf` (niced) when the object needs it and it is not
  // cached, and keeps its result if it is ready within `patience`.
  void generate(const std::string& elf, std::chrono::milliseconds patience);

 private:
  bool start(const std::string& elf);
  void stop();

  std::filesystem::path path_;  // empty: no caching for this object
  std::filesystem::path tmp_object_, tmp_btf_;
  pid_t child_ = -1;
};

}  // namespace ecli::runtime
