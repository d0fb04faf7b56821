#pragma once
// Turning stack addresses into frames people read (issue 10). Kernel frames
// come from /proc/kallsyms (modules included); user frames from the process's
// mappings and the ELF files behind them, read with elfutils' libdwfl:
// .symtab, .dynsym, MiniDebugInfo (.gnu_debugdata), separate debug files by
// build-id under /usr/lib/debug/.build-id, DWARF for inlined frames and
// file:line. C++ and Rust names are demangled.
//
// Costs: each binary is opened and read once per run, whatever the number of
// processes mapping it (binaries are keyed by build-id, else by device and
// inode); each (process, address) and each kernel address is resolved once,
// later lookups return the cached frames. Nothing here knows libbpf or output.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ecli::symbols {

struct Frame {
  uint64_t address = 0;  // as collected (a kernel or user virtual address; a file offset for build-id frames)
  std::string symbol;    // demangled function name; empty when unknown
  uint64_t offset = 0;   // bytes past the symbol's start; without a symbol, past the module's start (file offset)
  std::string module;    // kernel: "kernel" or the module's name ("ext4"); user: the binary's file name
                         // ("libc.so.6"); empty when nothing is known ("[unknown]")
  std::string file;      // source file, with SymbolizerOptions::lines and debug info
  int line = 0;
  bool inlined = false;  // inlined into the frame that follows it in the same vector
};

struct SymbolizerOptions {
  bool lines = false;  // file:line and inlined frames from DWARF (--lines)
  std::string debug_root = "/usr/lib/debug";  // separate debug files: DEBUG_ROOT/.build-id/xx/yyyy.debug
};

class Symbolizer {
 public:
  explicit Symbolizer(SymbolizerOptions options = {});
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // One kernel address: one frame ("do_sys_openat2", offset, "kernel"). Cached.
  const std::vector<Frame>& kernel(uint64_t address);
  // One address of process `pid`, innermost first: with `lines`, the inlined
  // functions at that address come before the function that holds them.
  // Cached per (pid, address). A process that is gone resolves through the
  // mappings remembered for it (remember_process, or an earlier lookup);
  // without them the frame has an empty module and symbol ("[unknown]").
  // A binary without symbols gives module + file offset and no symbol.
  const std::vector<Frame>& user(uint32_t pid, uint64_t address);
  // A frame collected with BPF_F_USER_BUILD_ID: the binary found by its
  // build-id (a binary already seen this run, or DEBUG_ROOT/.build-id),
  // `file_offset` into it. Unknown build-ids give module "[build-id HEX]".
  const std::vector<Frame>& user_by_build_id(std::string_view build_id, uint64_t file_offset);
  // Reads the mappings of `pid` now (and the build-ids of the binaries), so
  // that its addresses still resolve after it exits. Cheap when called again
  // for a process whose mappings have not changed.
  void remember_process(uint32_t pid);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ecli::symbols
