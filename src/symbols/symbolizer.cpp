#include "symbols/symbolizer.hpp"

#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "symbols/kallsyms.hpp"

// libiberty (libiberty-dev; its libiberty.a is PIC on Debian) demangles Rust
// v0 ("_R...") and legacy Rust names. Declared here rather than through
// <libiberty/demangle.h>, whose libiberty.h clashes with <cstring>'s basename;
// the values are those of demangle.h.
extern "C" char* cplus_demangle(const char* mangled, int options);
namespace {
constexpr int DMGL_PARAMS = 1 << 0, DMGL_ANSI = 1 << 1, DMGL_RUST = 1 << 17;
}

namespace ecli::symbols {
namespace {

// The whole of a small file under /proc (or nothing).
bool read_file(const std::string& path, std::string& out) {
  out.clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buffer[16384];
  ssize_t n;
  while ((n = ::read(fd, buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<size_t>(n));
  ::close(fd);
  return n == 0;
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string_view file_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == path.npos ? path : path.substr(slash + 1);
}

// "a::b::h0123456789abcdef" -> "a::b" (legacy Rust names through the C++ demangler)
void strip_rust_hash(std::string& name) {
  if (name.size() < 20) return;
  size_t at = name.size() - 19;
  if (name.compare(at, 3, "::h") != 0) return;
  for (size_t i = at + 3; i < name.size(); i++)
    if (!isxdigit(static_cast<unsigned char>(name[i]))) return;
  name.resize(at);
}

std::string demangle(const char* raw) {
  if (raw == nullptr) return {};
  // Versioned symbols of .symtab ("clock_nanosleep@@GLIBC_2.17") by their name alone.
  std::string unversioned;
  const char* name = raw;
  if (const char* at = std::strchr(raw, '@'); at && at != raw) {
    unversioned.assign(raw, at);
    name = unversioned.c_str();
  }
  if (name[0] == '_' && (name[1] == 'R' || name[1] == 'Z')) {
    // libiberty recognizes Rust names only (v0, and legacy "_ZN...17h<hash>E"
    // whose escapes like $LT$ it decodes and whose hash it drops).
    if (char* rust = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST)) {
      std::string out(rust);
      free(rust);
      return out;
    }
  }
  if (name[0] == '_' && name[1] == 'Z') {
    int status = 0;
    if (char* cxx = abi::__cxa_demangle(name, nullptr, nullptr, &status)) {
      std::string out(cxx);
      free(cxx);
      strip_rust_hash(out);
      return out;
    }
  }
  return name;
}

struct Load {
  uint64_t offset, size, vaddr;  // PT_LOAD: p_offset, p_filesz, p_vaddr
};

// One ELF file, opened once per run and shared by every process mapping it.
struct Binary {
  std::string path;
  std::string name;      // file name ("libc.so.6")
  std::string build_id;  // raw bytes; empty when it has none
  Dwfl* dwfl = nullptr;
  Dwfl_Module* module = nullptr;
  uint64_t bias = 0;
  std::vector<Load> loads;
  std::unordered_map<uint64_t, std::vector<Frame>> by_offset;  // file offset -> frames (address unset)

  // Function symbols by address, read once from libdwfl (.symtab, .dynsym,
  // MiniDebugInfo, the debug file): dwfl_module_addrinfo scans every symbol
  // of the module on each call, this is a binary search.
  struct Symbol {
    uint64_t address, size;  // module addresses
    const char* name;        // owned by libelf, lives as long as dwfl
    int rank;                // among symbols at one address, lower wins: global, weak, local; functions first
  };
  std::vector<Symbol> symbols;
  bool symbols_read = false;
  int dwarf = -1;  // whether it has DWARF (in itself or a debug file): -1 not looked for yet

  bool has_dwarf() {
    if (dwarf < 0) {
      Dwarf_Addr bias;
      dwarf = module && dwfl_module_getdwarf(module, &bias) ? 1 : 0;
    }
    return dwarf == 1;
  }

  const Symbol* symbol_at(uint64_t address) {
    if (!symbols_read) read_symbols();
    auto it = std::upper_bound(symbols.begin(), symbols.end(), address,
                               [](uint64_t a, const Symbol& s) { return a < s.address; });
    if (it == symbols.begin()) return nullptr;
    uint64_t start = (it - 1)->address;
    while (it != symbols.begin() && (it - 1)->address == start) --it;
    if (it->size == 0 || address - it->address < it->size) return &*it;
    // past the end of the nearest symbol: maybe inside an enclosing one
    for (int back = 0; back < 16 && it != symbols.begin(); back++) {
      --it;
      if (it->size > 0 && address - it->address < it->size) return &*it;
    }
    return nullptr;
  }

  void read_symbols() {
    symbols_read = true;
    if (!module) return;
    int count = dwfl_module_getsymtab(module);
    for (int i = 1; i < count; i++) {
      GElf_Sym sym;
      GElf_Addr address = 0;
      GElf_Word shndx = 0;
      const char* name = dwfl_module_getsym_info(module, i, &sym, &address, &shndx, nullptr, nullptr);
      if (!name || !*name || shndx == SHN_UNDEF || address == 0) continue;
      int type = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE) continue;
      // "getpid" (weak) rather than "__getpid" (global), "printf" rather than "_IO_printf"
      int underscores = name[0] != '_' ? 0 : name[1] != '_' ? 1 : 2;
      int rank = underscores * 8 + (bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 2 : 4) + (type == STT_NOTYPE ? 1 : 0);
      symbols.push_back({address, sym.st_size, name, rank});
    }
    std::sort(symbols.begin(), symbols.end(), [](const Symbol& a, const Symbol& b) {
      return a.address != b.address ? a.address < b.address : a.rank < b.rank;
    });
  }

  ~Binary() {
    if (dwfl) dwfl_end(dwfl);
  }
  // The module address of a file offset, through the PT_LOAD that holds it.
  bool address_of(uint64_t file_offset, Dwarf_Addr& address) const {
    for (const Load& load : loads)
      if (file_offset >= load.offset && file_offset - load.offset < std::max<uint64_t>(load.size, 1)) {
        address = file_offset - load.offset + load.vaddr + bias;
        return true;
      }
    return false;
  }
};

struct Mapping {
  uint64_t start, end, offset;
  uint64_t dev, inode;
  std::string path;  // "/usr/lib/x86_64-linux-gnu/libc.so.6", "[vdso]", or empty (anonymous)
  bool executable;
  Binary* binary = nullptr;  // once opened
  bool tried = false;        // opening it was attempted
};

struct Process {
  std::string maps;  // the text the mappings came from
  std::vector<Mapping> mappings;  // sorted by start
};

struct PidAddress {
  uint32_t pid;
  uint64_t address;
  bool operator==(const PidAddress&) const = default;
};
struct PidAddressHash {
  size_t operator()(const PidAddress& k) const {
    return std::hash<uint64_t>()(k.address * 0x9e3779b97f4a7c15ull ^ k.pid);
  }
};
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};

bool parse_hex(std::string_view text, uint64_t& value) {
  value = 0;
  if (text.empty()) return false;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (digit < 0) return false;
    value = value << 4 | uint64_t(digit);
  }
  return true;
}

// "start-end perms offset major:minor inode   path"
std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> mappings;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == text.npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    std::string_view fields[5];
    size_t at = 0;
    bool ok = true;
    for (auto& field : fields) {
      size_t from = line.find_first_not_of(' ', at);
      size_t to = from == line.npos ? line.npos : line.find(' ', from);
      if (from == line.npos) {
        ok = false;
        break;
      }
      field = line.substr(from, to == line.npos ? line.npos : to - from);
      at = to == line.npos ? line.size() : to;
    }
    if (!ok) continue;
    Mapping m{};
    size_t dash = fields[0].find('-'), colon = fields[3].find(':');
    uint64_t major = 0, minor = 0;
    if (dash == fields[0].npos || colon == fields[3].npos || !parse_hex(fields[0].substr(0, dash), m.start) ||
        !parse_hex(fields[0].substr(dash + 1), m.end) || !parse_hex(fields[2], m.offset) ||
        !parse_hex(fields[3].substr(0, colon), major) || !parse_hex(fields[3].substr(colon + 1), minor))
      continue;
    m.dev = makedev(major, minor);
    m.inode = strtoull(std::string(fields[4]).c_str(), nullptr, 10);
    m.executable = fields[1].size() >= 3 && fields[1][2] == 'x';
    size_t path_at = line.find_first_not_of(' ', at);
    if (path_at != line.npos) m.path = line.substr(path_at);
    if (m.end > m.start) mappings.push_back(std::move(m));
  }
  std::sort(mappings.begin(), mappings.end(), [](const Mapping& a, const Mapping& b) { return a.start < b.start; });
  return mappings;
}

}  // namespace

struct Symbolizer::Impl {
  SymbolizerOptions options;
  std::string debuginfo_path;  // for libdwfl: ":.debug:DEBUG_ROOT"
  char* debuginfo_path_c = nullptr;
  Dwfl_Callbacks callbacks{};

  std::deque<Binary> binaries;  // never moves
  std::unordered_map<std::string, Binary*, StringHash, std::equal_to<>> by_build_id;
  std::unordered_map<std::string, Binary*> by_file;  // "dev:inode" or the path; null: not an ELF we can read
  std::unordered_map<uint32_t, Process> processes;
  std::unordered_map<PidAddress, std::vector<Frame>, PidAddressHash> user_cache;
  std::unordered_map<uint64_t, std::vector<Frame>> kernel_cache;
  struct BuildIdFrames {
    Binary* binary = nullptr;
    std::unordered_map<uint64_t, std::vector<Frame>> frames;
  };
  std::unordered_map<std::string, BuildIdFrames, StringHash, std::equal_to<>> build_id_cache;
  std::string buffer;  // maps text being read

  explicit Impl(SymbolizerOptions o) : options(std::move(o)) {
    debuginfo_path = ":.debug:" + options.debug_root;
    debuginfo_path_c = debuginfo_path.data();
    callbacks.find_elf = dwfl_build_id_find_elf;
    callbacks.find_debuginfo = dwfl_standard_find_debuginfo;
    callbacks.section_address = dwfl_offline_section_address;
    callbacks.debuginfo_path = &debuginfo_path_c;
  }

  // Reads an ELF file into a new Binary, or returns the one with the same build-id.
  Binary* open_binary(int fd, const std::string& path, std::string_view name) {
    std::string build_id;
    if (elf_version(EV_CURRENT) == EV_NONE) {
      ::close(fd);
      return nullptr;
    }
    if (Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr)) {
      bool is_elf = elf_kind(elf) == ELF_K_ELF;
      const void* bits = nullptr;
      ssize_t len = is_elf ? dwelf_elf_gnu_build_id(elf, &bits) : -1;
      if (len > 0) build_id.assign(static_cast<const char*>(bits), static_cast<size_t>(len));
      elf_end(elf);
      if (!is_elf) {
        ::close(fd);
        return nullptr;
      }
    } else {
      ::close(fd);
      return nullptr;
    }
    if (!build_id.empty()) {
      auto it = by_build_id.find(build_id);
      if (it != by_build_id.end()) {
        ::close(fd);
        return it->second;
      }
    }
    Binary& b = binaries.emplace_back();
    b.path = path;
    b.name = name;
    b.build_id = build_id;
    b.dwfl = dwfl_begin(&callbacks);
    if (b.dwfl) {
      b.module = dwfl_report_elf(b.dwfl, b.name.c_str(), path.c_str(), fd, 0, false);  // owns fd from here
      dwfl_report_end(b.dwfl, nullptr, nullptr);
    } else {
      ::close(fd);
    }
    Elf* elf = nullptr;
    GElf_Addr bias = 0;
    if (b.module && (elf = dwfl_module_getelf(b.module, &bias))) {
      b.bias = bias;
      read_loads(elf, b.loads);
    } else {
      b.module = nullptr;
    }
    if (!build_id.empty()) by_build_id.emplace(build_id, &b);
    return &b;
  }

  // The PT_LOAD segments. A separate debug file (objcopy --only-keep-debug)
  // keeps the segments' addresses and sizes in memory but not their file
  // offsets: those are rebuilt the way linkers lay them out, each one the first
  // offset past the previous segment that is congruent to its address modulo
  // its alignment (exact for GNU ld and lld layouts).
  static void read_loads(Elf* elf, std::vector<Load>& loads) {
    size_t count = 0;
    if (elf_getphdrnum(elf, &count) != 0) return;
    bool debug_only = false;
    std::vector<GElf_Phdr> phdrs;
    for (size_t i = 0; i < count; i++) {
      GElf_Phdr phdr;
      if (!gelf_getphdr(elf, static_cast<int>(i), &phdr) || phdr.p_type != PT_LOAD) continue;
      phdrs.push_back(phdr);
      if ((phdr.p_flags & PF_X) && phdr.p_filesz == 0 && phdr.p_memsz > 0) debug_only = true;
    }
    uint64_t next = 0;
    for (const GElf_Phdr& phdr : phdrs) {
      if (!debug_only) {
        loads.push_back({phdr.p_offset, phdr.p_filesz, phdr.p_vaddr});
        continue;
      }
      uint64_t align = phdr.p_align > 1 && (phdr.p_align & (phdr.p_align - 1)) == 0 ? phdr.p_align : 1;
      uint64_t offset = (next & ~(align - 1)) | (phdr.p_vaddr & (align - 1));
      if (offset < next) offset += align;
      loads.push_back({offset, phdr.p_memsz, phdr.p_vaddr});
      next = offset + phdr.p_memsz;
    }
  }

  // The binary behind a file mapping of `pid`, opened once per run.
  Binary* binary_of(uint32_t pid, Mapping& m, bool live) {
    if (m.tried) return m.binary;
    if (m.path.empty() || m.path[0] != '/') return nullptr;
    std::string key = m.inode ? std::to_string(m.dev) + ":" + std::to_string(m.inode) : m.path;
    auto known = by_file.find(key);
    if (known != by_file.end()) {
      m.tried = true;
      return m.binary = known->second;
    }
    // The exact file the process maps (also when deleted or in another mount
    // namespace), else the path seen from its root, else the path if it is still the same file.
    int fd = -1;
    if (live) {
      char range[64];
      snprintf(range, sizeof range, "%llx-%llx", static_cast<unsigned long long>(m.start),
               static_cast<unsigned long long>(m.end));
      fd = ::open(("/proc/" + std::to_string(pid) + "/map_files/" + range).c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) fd = ::open(("/proc/" + std::to_string(pid) + "/root" + m.path).c_str(), O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
      struct stat st;
      if (::stat(m.path.c_str(), &st) == 0 && (m.inode == 0 || (st.st_ino == m.inode && st.st_dev == m.dev)))
        fd = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC);
    }
    m.tried = true;
    if (fd < 0) return nullptr;  // gone: try again for another mapping, maybe from a live process
    std::string path = m.path;
    static constexpr std::string_view deleted = " (deleted)";
    if (path.size() > deleted.size() && path.ends_with(deleted)) path.resize(path.size() - deleted.size());
    m.binary = open_binary(fd, path, file_name(path));
    by_file.emplace(std::move(key), m.binary);
    return m.binary;
  }

  Process* read_process(uint32_t pid) {
    if (!read_file("/proc/" + std::to_string(pid) + "/maps", buffer)) return nullptr;
    Process& p = processes[pid];
    if (p.maps == buffer) return &p;
    p.maps = buffer;
    p.mappings = parse_maps(p.maps);
    return &p;
  }

  // Frames of a file offset into `b`, cached in the binary (without the address).
  const std::vector<Frame>& resolve(Binary& b, uint64_t file_offset) {
    auto cached = b.by_offset.find(file_offset);
    if (cached != b.by_offset.end()) return cached->second;
    std::vector<Frame>& frames = b.by_offset[file_offset];
    Dwarf_Addr address = 0;
    if (b.module && b.address_of(file_offset, address)) {
      bool lines = options.lines && b.has_dwarf();
      if (lines) add_inlined(b, address, frames);
      Frame f;
      f.module = b.name;
      if (const Binary::Symbol* symbol = b.symbol_at(address)) {
        f.symbol = demangle(symbol->name);
        f.offset = address - symbol->address;
      } else {
        f.offset = file_offset;
      }
      if (lines) {
        if (frames.empty()) {
          if (Dwfl_Line* line = dwfl_module_getsrc(b.module, address)) {
            int lineno = 0;
            if (const char* src = dwfl_lineinfo(line, nullptr, &lineno, nullptr, nullptr, nullptr)) {
              f.file = src;
              f.line = lineno;
            }
          }
        } else {
          // add_inlined left the call site of the outermost inlined function here
          Frame& site = frames.back();
          f.file = std::move(site.file);
          f.line = site.line;
          if (f.symbol.empty()) f.symbol = std::move(site.symbol);
          frames.pop_back();
        }
      }
      frames.push_back(std::move(f));
    } else {
      Frame f;
      f.module = b.name;
      f.offset = file_offset;
      frames.push_back(std::move(f));
    }
    return frames;
  }

  // The inlined functions at `address`, innermost first, each with the file
  // and line inside it; then a placeholder frame holding the call site in the
  // real function (file, line, and its DWARF name), which resolve() merges.
  void add_inlined(Binary& b, Dwarf_Addr address, std::vector<Frame>& frames) {
    Dwarf_Addr bias = 0;
    Dwarf_Die* cu = dwfl_module_addrdie(b.module, address, &bias);
    if (!cu) return;
    Dwarf_Die* scopes = nullptr;
    int n = dwarf_getscopes(cu, address - bias, &scopes);
    if (n <= 0) {
      free(scopes);
      return;
    }
    Dwarf_Files* files = nullptr;
    size_t nfiles = 0;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0) files = nullptr;
    std::string file;
    int line = 0;
    if (Dwfl_Line* l = dwfl_module_getsrc(b.module, address)) {
      if (const char* src = dwfl_lineinfo(l, nullptr, &line, nullptr, nullptr, nullptr)) file = src;
    }
    for (int i = 0; i < n; i++) {
      Dwarf_Die* die = &scopes[i];
      int tag = dwarf_tag(die);
      if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
      Frame f;
      f.module = b.name;
      f.symbol = die_name(die);
      f.file = std::move(file);
      f.line = line;
      if (tag == DW_TAG_subprogram) {  // the real function: its call site placeholder
        frames.push_back(std::move(f));
        break;
      }
      f.inlined = true;
      Dwarf_Addr entry = 0;
      if (dwarf_entrypc(die, &entry) == 0 && address - bias >= entry) f.offset = address - bias - entry;
      frames.push_back(std::move(f));
      // where it was called from: the location inside the next scope out
      Dwarf_Attribute attr;
      Dwarf_Word call_file = 0, call_line = 0;
      file.clear();
      line = 0;
      if (dwarf_formudata(dwarf_attr(die, DW_AT_call_file, &attr), &call_file) == 0 && files)
        if (const char* src = dwarf_filesrc(files, call_file, nullptr, nullptr)) file = src;
      if (dwarf_formudata(dwarf_attr(die, DW_AT_call_line, &attr), &call_line) == 0) line = static_cast<int>(call_line);
    }
    free(scopes);
    if (!frames.empty() && frames.back().inlined) {  // no enclosing subprogram found: still a placeholder
      Frame f;
      f.file = std::move(file);
      f.line = line;
      frames.push_back(std::move(f));
    }
  }

  static std::string die_name(Dwarf_Die* die) {
    Dwarf_Attribute attr;
    const char* linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!linkage) linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (linkage) return demangle(linkage);
    const char* name = dwarf_diename(die);
    return name ? name : "";
  }
};

Symbolizer::Symbolizer(SymbolizerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Symbolizer::~Symbolizer() = default;

const std::vector<Frame>& Symbolizer::kernel(uint64_t address) {
  auto [it, added] = impl_->kernel_cache.try_emplace(address);
  if (!added) return it->second;
  Frame f;
  f.address = address;
  if (auto symbol = Kallsyms::instance().lookup(address)) {
    f.symbol = symbol->name;
    f.offset = symbol->offset;
    f.module = symbol->module.empty() ? std::string_view("kernel") : symbol->module;
  }
  it->second.push_back(std::move(f));
  return it->second;
}

const std::vector<Frame>& Symbolizer::user(uint32_t pid, uint64_t address) {
  Impl& d = *impl_;
  auto [it, added] = d.user_cache.try_emplace(PidAddress{pid, address});
  std::vector<Frame>& frames = it->second;
  if (!added) return frames;
  Frame unknown;
  unknown.address = address;
  if (pid == 0 || address == 0) {  // a kernel thread has no user frames
    frames.push_back(std::move(unknown));
    return frames;
  }
  auto known = d.processes.find(pid);
  bool was_known = known != d.processes.end();
  Process* p = was_known ? &known->second : nullptr;
  bool live = true;
  if (!p) {
    p = d.read_process(pid);
    live = p != nullptr;
  }
  auto find = [&]() -> Mapping* {
    auto m = std::upper_bound(p->mappings.begin(), p->mappings.end(), address,
                              [](uint64_t a, const Mapping& m) { return a < m.start; });
    if (m == p->mappings.begin()) return nullptr;
    --m;
    return address < m->end ? &*m : nullptr;
  };
  Mapping* m = p ? find() : nullptr;
  if (p && !m && was_known) {  // mapped since (dlopen): read the maps again
    Process* again = d.read_process(pid);
    live = again != nullptr;
    if (again) m = find();
  }
  if (!m) {
    frames.push_back(std::move(unknown));
    return frames;
  }
  uint64_t file_offset = address - m->start + m->offset;
  Binary* b = d.binary_of(pid, *m, live);
  if (!b) {  // anonymous, [vdso], [heap], or a file we cannot read: the mapping and the offset into it
    unknown.module = m->path.empty() || m->path[0] != '/' ? m->path : std::string(file_name(m->path));
    unknown.offset = m->path.empty() ? address - m->start : file_offset;
    frames.push_back(std::move(unknown));
    return frames;
  }
  frames = d.resolve(*b, file_offset);
  for (Frame& f : frames) f.address = address;
  return frames;
}

const std::vector<Frame>& Symbolizer::user_by_build_id(std::string_view build_id, uint64_t file_offset) {
  Impl& d = *impl_;
  auto entry = d.build_id_cache.find(build_id);
  if (entry == d.build_id_cache.end()) {
    entry = d.build_id_cache.emplace(std::string(build_id), Impl::BuildIdFrames{}).first;
    auto seen = d.by_build_id.find(build_id);
    if (seen != d.by_build_id.end()) {
      entry->second.binary = seen->second;
    } else if (build_id.size() >= 2) {
      // DEBUG_ROOT/.build-id/xx/rest: the executable (a link to it), else rest.debug
      std::string id = hex(build_id);
      std::string base = d.options.debug_root + "/.build-id/" + id.substr(0, 2) + "/" + id.substr(2);
      for (const std::string& path : {base, base + ".debug"}) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        char target[4096];
        ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
        std::string real = n > 0 ? std::string(target, static_cast<size_t>(n)) : path;
        std::string name = n > 0 ? std::string(file_name(real)) : "[build-id " + id + "]";
        Binary* b = d.open_binary(fd, path, name);
        if (b && b->build_id == build_id) {
          entry->second.binary = b;
          break;
        }
      }
    }
  }
  auto [it, added] = entry->second.frames.try_emplace(file_offset);
  std::vector<Frame>& frames = it->second;
  if (!added) return frames;
  if (Binary* b = entry->second.binary) {
    frames = d.resolve(*b, file_offset);
    for (Frame& f : frames) f.address = file_offset;
  } else {
    Frame f;
    f.address = file_offset;
    f.offset = file_offset;
    f.module = "[build-id " + hex(build_id) + "]";
    frames.push_back(std::move(f));
  }
  return frames;
}

void Symbolizer::remember_process(uint32_t pid) {
  if (pid == 0) return;
  Process* p = impl_->read_process(pid);
  if (!p) return;
  for (Mapping& m : p->mappings)
    if (m.executable) impl_->binary_of(pid, m, true);
}

}  // namespace ecli::symbols
