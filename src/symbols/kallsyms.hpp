#pragma once
// Kernel addresses as symbol+offset, from /proc/kallsyms (DESIGN.md §3:
// symbols live in a room of their own). Read once, the first time an address
// is looked up; a lookup is a binary search and allocates nothing.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ecli::symbols {

struct KernelSymbol {
  std::string_view name;  // "do_sys_openat2"
  uint64_t offset = 0;    // bytes past the symbol's start
  std::string_view module;  // the module holding it ("ext4"); empty for the core kernel
};

class Kallsyms {
 public:
  // The running kernel's symbols, read from /proc/kallsyms on first use. Without
  // it (or with addresses hidden by kptr_restrict) every lookup finds nothing.
  static const Kallsyms& instance();
  // Symbols from text in /proc/kallsyms' format ("ffffffff81000000 T _stext [module]").
  explicit Kallsyms(std::string text);
  // The symbol at or below `address`; nothing for 0, for addresses below the
  // first symbol, or above the last one by more than 1 MiB.
  std::optional<KernelSymbol> lookup(uint64_t address) const;
  // Whether a code symbol of that name exists (a kprobe target); a scan, for
  // the few lookups made before loading, not per event.
  bool has_function(std::string_view name) const;
  size_t size() const { return symbols_.size(); }

 private:
  struct Entry {
    uint64_t address;
    uint32_t name_at, name_len;      // in text_
    uint32_t module_at, module_len;  // in text_; 0 length for the core kernel
  };
  std::string text_;
  std::vector<Entry> symbols_;  // sorted by address
};

}  // namespace ecli::symbols
