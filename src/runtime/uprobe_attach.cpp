#include "runtime/uprobe_attach.hpp"

#include <bpf/libbpf.h>
#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>

#include "runtime/libbpf_log.hpp"
#include "runtime/loader.hpp"
#include "runtime/messages.hpp"
#include "util/error.hpp"
#include "util/subprocess.hpp"

namespace ecli::runtime {
namespace {

namespace fs = std::filesystem;
using Kind = UserProbeTarget::Kind;

struct ProbeSection {
  Kind kind = Kind::Uprobe;
  bool retprobe = false;
  std::string binary;  // as written, maybe empty
  std::string spec;    // uprobe: FUNCTION[+OFFSET]; USDT: PROVIDER:NAME; maybe empty
};

std::optional<ProbeSection> parse_section(const std::string& section) {
  std::string kind = section_kind(section);
  if (kind.ends_with(".s")) kind.resize(kind.size() - 2);  // sleepable: attached the same way
  ProbeSection p;
  if (kind == "uprobe" || kind == "uretprobe") p.kind = Kind::Uprobe;
  else if (kind == "uprobe.multi" || kind == "uretprobe.multi") p.kind = Kind::UprobeMulti;
  else if (kind == "usdt") p.kind = Kind::Usdt;
  else return std::nullopt;
  p.retprobe = kind.starts_with("uretprobe");
  size_t slash = section.find('/');
  std::string rest = slash == std::string::npos ? "" : section.substr(slash + 1);
  if (p.kind == Kind::Usdt) {
    // PATH:PROVIDER:NAME, or PROVIDER:NAME with the binary given at run time.
    size_t last = rest.rfind(':');
    size_t middle = last == std::string::npos || last == 0 ? std::string::npos : rest.rfind(':', last - 1);
    if (middle != std::string::npos) {
      p.binary = rest.substr(0, middle);
      p.spec = rest.substr(middle + 1);
    } else {
      p.spec = rest;
    }
  } else if (size_t colon = rest.find(':'); colon != std::string::npos) {
    p.binary = rest.substr(0, colon);  // uprobe//bin/bash:readline, uprobe/libc.so.6:malloc
    p.spec = rest.substr(colon + 1);
  } else {
    p.spec = rest;  // uprobe/readline: the function, the binary comes from --binary
  }
  return p;
}

// One --binary value.
struct BinaryOption {
  std::string text;     // as given, for messages
  std::string program;  // empty: every user probe
  std::string path;
  std::string spec;     // FUNCTION, or PROVIDER:NAME; empty: from the section
};

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

BinaryOption parse_binary_option(const std::string& text) {
  BinaryOption b{text, "", text, ""};
  if (size_t eq = b.path.find('='); eq != std::string::npos && is_identifier(b.path.substr(0, eq))) {
    b.program = b.path.substr(0, eq);
    b.path = b.path.substr(eq + 1);
  }
  if (size_t colon = b.path.find(':'); colon != std::string::npos) {
    b.spec = b.path.substr(colon + 1);
    b.path = b.path.substr(0, colon);
  }
  if (b.path.empty()) throw Error(fmt::format("--binary {}: no binary given (expected [PROG=]PATH[:FUNCTION])", text));
  return b;
}

// ELF files: their e_machine, or nullopt for anything else.
std::optional<uint16_t> elf_machine(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char header[EI_NIDENT + 4] = {};
  if (!in.read(reinterpret_cast<char*>(header), sizeof header)) return std::nullopt;
  if (std::memcmp(header, ELFMAG, SELFMAG) != 0) return std::nullopt;
  uint16_t machine;
  std::memcpy(&machine, header + EI_NIDENT + 2, 2);  // e_type, then e_machine (host byte order here)
  return machine;
}

uint16_t host_machine() {
  static const uint16_t machine = elf_machine("/proc/self/exe").value_or(0);
  return machine;
}

bool is_regular(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// A file that can carry uprobes for this machine's processes.
bool usable(const std::string& path) { return is_regular(path) && elf_machine(path) == host_machine(); }

// Whether a library file name answers to `name`: libc.so.6 to "libc.so.6",
// "libc.so", "libc" and "c" (as bcc's which_so does).
bool library_matches(const std::string& file, const std::string& name) {
  if (file == name || file.starts_with(name + ".so")) return true;
  return !name.starts_with("lib") && file.starts_with("lib" + name + ".so");
}

std::string basename_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::optional<std::string> library_in_process(const std::string& name, int pid) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  std::string line;
  while (std::getline(maps, line)) {
    size_t path = line.find('/');
    if (path == std::string::npos) continue;
    std::string file = line.substr(path);
    if (library_matches(basename_of(file), name) && usable(file)) return file;
  }
  return std::nullopt;
}

// ld.so.cache through `ldconfig -p`: "\tlibc.so.6 (libc6,x86-64, ...) => /lib/x86_64-linux-gnu/libc.so.6".
std::optional<std::string> library_in_ld_cache(const std::string& name) {
  ProcessResult r = run_process({"ldconfig", "-p"});
  if (r.exit_code != 0) r = run_process({"/sbin/ldconfig", "-p"});
  if (r.exit_code != 0) return std::nullopt;
  std::istringstream lines(r.output);
  std::string line;
  std::optional<std::string> prefixed;
  while (std::getline(lines, line)) {
    size_t arrow = line.find(" => ");
    if (arrow == std::string::npos) continue;
    size_t begin = line.find_first_not_of(" \t");
    std::string soname = line.substr(begin, line.find(' ', begin) - begin);
    std::string file = line.substr(arrow + 4);
    if (!library_matches(soname, name) || !usable(file)) continue;
    if (soname == name) return file;
    if (!prefixed) prefixed = file;
  }
  return prefixed;
}

std::optional<std::string> library_in_standard_folders(const std::string& name) {
#if defined(__x86_64__)
  const std::string triplet = "x86_64-linux-gnu";
#elif defined(__aarch64__)
  const std::string triplet = "aarch64-linux-gnu";
#else
  const std::string triplet = "";
#endif
  std::vector<std::string> folders = {"/lib/" + triplet, "/usr/lib/" + triplet, "/lib64", "/usr/lib64",
                                      "/lib", "/usr/lib", "/usr/local/lib"};
  for (const auto& folder : folders) {
    if (folder.ends_with("/")) continue;
    std::error_code ec;
    if (usable(folder + "/" + name)) return folder + "/" + name;
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(folder, ec)) {
      std::string file = entry.path().filename().string();
      if (library_matches(file, name) && usable(entry.path().string())) found.push_back(entry.path().string());
    }
    if (!found.empty()) return *std::min_element(found.begin(), found.end());
  }
  return std::nullopt;
}

// The first ELF file called `name` in PATH's folders; scripts (such as
// pyenv's shims) are passed over and remembered in `skipped`.
std::optional<std::string> program_on_path(const std::string& name, std::string& skipped) {
  const char* path = getenv("PATH");
  std::istringstream folders(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string folder;
  while (std::getline(folders, folder, ':')) {
    if (folder.empty()) continue;
    std::string file = folder + "/" + name;
    if (!is_regular(file) || access(file.c_str(), X_OK) != 0) continue;
    if (usable(file)) return file;
    if (skipped.empty()) skipped = file;
  }
  return std::nullopt;
}

// "FUNCTION", "FUNCTION+OFFSET" or "OFFSET" into the target.
void set_function(UserProbeTarget& t, const std::string& spec, const std::string& where) {
  std::string function = spec, offset;
  if (size_t plus = spec.find('+'); plus != std::string::npos) {
    function = spec.substr(0, plus);
    offset = spec.substr(plus + 1);
  } else if (!spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]))) {
    function.clear();
    offset = spec;
  }
  if (!offset.empty()) {
    char* end = nullptr;
    errno = 0;
    t.offset = std::strtoull(offset.c_str(), &end, 0);
    if (errno || *end) throw Error(fmt::format("{}: '{}' is not FUNCTION[+OFFSET]", where, spec));
  }
  t.function = function;
}

}  // namespace

bool is_user_probe(const struct bpf_program* prog) {
  return parse_section(bpf_program__section_name(prog)).has_value();
}

std::string resolve_binary(const std::string& text, int pid, const std::string& what) {
  if (text.find('/') != std::string::npos) {
    struct stat st;
    if (stat(text.c_str(), &st) != 0) throw Error(fmt::format("{}: {}", what, errno_text(errno)));
    if (!S_ISREG(st.st_mode)) throw Error(fmt::format("{}: {} is not a file", what, text));
    std::optional<uint16_t> machine = elf_machine(text);
    if (!machine) throw Error(fmt::format("{}: {} is not an ELF file (uprobes need an executable or a shared library)",
                                          what, text));
    if (*machine != host_machine())
      throw Error(fmt::format("{}: {} is an ELF file for another machine", what, text));
    return text;
  }
  std::string skipped;
  bool library_name = text.starts_with("lib") || text.find(".so") != std::string::npos;
  std::optional<std::string> found;
  if (pid > 0) found = library_in_process(text, pid);
  if (!found && !library_name) found = program_on_path(text, skipped);
  if (!found) found = library_in_ld_cache(text);
  if (!found) found = library_in_standard_folders(text);
  if (!found && library_name) found = program_on_path(text, skipped);
  if (found) return *found;
  if (!skipped.empty())
    throw Error(fmt::format("{}: {} on PATH is not an ELF file (a script?); give the program's path", what, skipped));
  throw Error(fmt::format("{}: no library or program named {} (looked in ld.so.cache, the standard library folders "
                          "and PATH); give its path",
                          what, text));
}

void check_pid_running(int pid) {
  if (pid <= 0) throw Error(fmt::format("--pid {}: not a process id", pid));
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text;
  if (!stat || !std::getline(stat, text)) throw Error(fmt::format("--pid {}: no process {} is running", pid, pid));
  size_t paren = text.rfind(')');
  char state = paren != std::string::npos && paren + 2 < text.size() ? text[paren + 2] : '?';
  if (state == 'Z' || state == 'X') throw Error(fmt::format("--pid {}: process {} has exited", pid, pid));
}

std::map<const struct bpf_program*, UserProbeTarget> plan_user_probes(struct bpf_object* object,
                                                                      const UserProbeOptions& options) {
  std::vector<BinaryOption> binaries;
  for (const auto& text : options.binaries) binaries.push_back(parse_binary_option(text));
  // Every PROG= names a user probe of this object.
  std::vector<std::string> names;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object)
    if (is_user_probe(prog)) names.push_back(bpf_program__name(prog));
  for (const auto& b : binaries) {
    if (names.empty())
      throw Error(fmt::format("--binary {}: this program has no uprobe, uretprobe or USDT program", b.text));
    if (!b.program.empty() && std::find(names.begin(), names.end(), b.program) == names.end()) {
      std::string list;
      for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
      throw Error(fmt::format("--binary {}: there is no uprobe or USDT program named {} (there are: {})", b.text,
                              b.program, list));
    }
  }

  std::map<const struct bpf_program*, UserProbeTarget> plans;
  bpf_object__for_each_program(prog, object) {
    if (!bpf_program__autoload(prog)) continue;
    std::optional<ProbeSection> section = parse_section(bpf_program__section_name(prog));
    if (!section) continue;
    const BinaryOption* chosen = nullptr;
    for (const auto& b : binaries)
      if (b.program == bpf_program__name(prog) || (b.program.empty() && !(chosen && !chosen->program.empty())))
        chosen = &b;
    std::string name = bpf_program__name(prog);
    UserProbeTarget t;
    t.kind = section->kind;
    t.retprobe = section->retprobe;
    t.pid = options.pid > 0 ? options.pid : -1;
    std::string binary = chosen ? chosen->path : section->binary;
    std::string spec = chosen && !chosen->spec.empty() ? chosen->spec : section->spec;
    const std::string label = "program " + program_label(prog);
    if (binary.empty())
      throw Error(fmt::format("{} names no binary: give it with --binary PATH (or --binary {}=PATH)",
                              label, name));
    if (spec.empty()) {
      if (t.kind == Kind::Usdt)
        throw Error(fmt::format("{} names no USDT probe: give it with --binary {}=PATH:PROVIDER:NAME",
                                label, name));
      throw Error(fmt::format("{} names no function: give it with --binary {}=PATH:FUNCTION", label,
                              name));
    }
    std::string what = chosen ? "--binary " + chosen->text
                              : fmt::format("{}: its binary", label);
    t.binary = resolve_binary(binary, options.pid, what);
    if (t.kind == Kind::Usdt) {
      size_t colon = spec.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == spec.size() ||
          spec.find(':', colon + 1) != std::string::npos)
        throw Error(fmt::format("{}: USDT probe '{}' is not PROVIDER:NAME", chosen ? what : label, spec));
      t.provider = spec.substr(0, colon);
      t.name = spec.substr(colon + 1);
    } else if (t.kind == Kind::UprobeMulti) {
      t.function = spec;  // a glob of function names
    } else {
      set_function(t, spec, chosen ? what : label);
    }
    plans.emplace(prog, std::move(t));
  }
  return plans;
}

struct bpf_link* attach_user_probe(struct bpf_program* prog, const UserProbeTarget& t) {
  clear_libbpf_log();
  struct bpf_link* link = nullptr;
  if (t.kind == Kind::Usdt) {
    link = bpf_program__attach_usdt(prog, t.pid, t.binary.c_str(), t.provider.c_str(), t.name.c_str(), nullptr);
  } else if (t.kind == Kind::UprobeMulti) {
    LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .retprobe = t.retprobe);
    link = bpf_program__attach_uprobe_multi(prog, t.pid, t.binary.c_str(), t.function.c_str(), &opts);
  } else {
    LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = t.retprobe,
                .func_name = t.function.empty() ? nullptr : t.function.c_str());
    link = bpf_program__attach_uprobe_opts(prog, t.pid, t.binary.c_str(), t.offset, &opts);
  }
  long err = libbpf_get_error(link);
  if (!err) return link;
  std::string why = last_libbpf_message();
  const std::string label = "program " + program_label(prog);
  if (err == -ENOENT && t.kind == Kind::Usdt)
    throw Error(fmt::format("cannot attach {}: USDT probe {}:{} not found in {} (see `readelf -n {}`)", label,
                            t.provider, t.name, t.binary, t.binary));
  if (err == -ENOENT && !t.function.empty())
    throw Error(fmt::format("cannot attach {}: function {} not found in {} (see `nm -D {}`)", label, t.function,
                            t.binary, t.binary));
  if (err == -524 /*ENOTSUPP*/ && t.offset)
    throw Error(fmt::format("cannot attach {} to {}: the kernel cannot place a uprobe there (an offset must be the "
                            "start of an instruction; see `objdump -d {}`)",
                            label, describe(t), t.binary));
  if (err == -ESRCH && t.pid > 0)
    throw Error(fmt::format("cannot attach {}: --pid {}: no process {} is running", label, t.pid, t.pid));
  throw Error(fmt::format("cannot attach {} to {}: {}{}", label, describe(t), errno_text(static_cast<int>(err)),
                          why.empty() ? "" : " (" + why + ")"));
}

std::string describe(const UserProbeTarget& t) {
  std::string what;
  switch (t.kind) {
    case Kind::Usdt:
      what = fmt::format("USDT {}:{}:{}", t.binary, t.provider, t.name);
      break;
    case Kind::UprobeMulti:
      what = fmt::format("{} {}:{}", t.retprobe ? "uretprobe.multi" : "uprobe.multi", t.binary, t.function);
      break;
    case Kind::Uprobe:
      what = fmt::format("{} {}:{}", t.retprobe ? "uretprobe" : "uprobe", t.binary, t.function);
      if (t.offset) what += fmt::format("{}{:#x}", t.function.empty() ? "" : "+", t.offset);
      break;
  }
  if (t.pid > 0) what += fmt::format(" (pid {})", t.pid);
  return what;
}

namespace {

// "targ_pid" -> {targ, pid}; "targetPid" -> {target, pid}.
std::vector<std::string> name_words(const std::string& name) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    bool boundary = c == '_' || (std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
                                 std::islower(static_cast<unsigned char>(name[i - 1])));
    if (boundary && !words.back().empty()) words.emplace_back();
    if (c != '_') words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

}  // namespace

std::vector<btf::GlobalVariable> process_filters(
    const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals) {
  std::vector<btf::GlobalVariable> tgid, pid;
  for (const auto& [var, type] : globals) {
    if (type.kind != btf::ValueKind::Integer || type.size < 4) continue;
    int process_words = 0, targeting_words = 0;
    bool is_tgid = false, other = false;
    for (const auto& w : name_words(var.name)) {
      if (w == "pid" || w == "tgid") {
        process_words++;
        is_tgid = w == "tgid";
      } else if (w == "targ" || w == "target" || w == "filter" || w == "filtered") {
        targeting_words++;
      } else {
        other = true;
      }
    }
    bool named = !other && targeting_words == 1 && process_words == 1;
    bool typed = !other && targeting_words == 1 && process_words == 0 && type.c_name == "pid_t";
    if (named || typed) (is_tgid ? tgid : pid).push_back(var);
  }
  return tgid.empty() ? pid : tgid;
}

void apply_pid_option(int pid, struct bpf_object* object,
                      const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals,
                      std::vector<GlobalSetting>& settings) {
  if (pid == 0) return;
  check_pid_running(pid);
  std::vector<btf::GlobalVariable> filters = process_filters(globals);
  std::vector<std::string> set, kept;
  for (const auto& var : filters) {
    bool given = false;
    for (const auto& s : settings)
      if (s.var.name == var.name && s.var.section == var.section && !s.from_default) given = true;
    if (given) {
      kept.push_back(var.name);
      continue;
    }
    std::string bytes(var.size, '\0');
    int64_t value = pid;
    std::memcpy(bytes.data(), &value, std::min<size_t>(var.size, sizeof value));  // little-endian host
    settings.push_back({var, bytes});
    set.push_back(var.name);
  }
  auto join = [](const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (!set.empty()) warn(fmt::format("--pid {}: limiting events through {}", pid, join(set)));
  if (!kept.empty()) warn(fmt::format("--pid {}: keeping {} as given in the program's options", pid, join(kept)));
  if (!filters.empty()) return;
  bool others = false;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object)
    if (!is_user_probe(prog)) others = true;
  if (others)
    warn(fmt::format("--pid {} limits only uprobe and USDT programs: this program has no process filter (a global "
                     "such as targ_pid or pid_filter), so its other events come from every process",
                     pid));
}

}  // namespace ecli::runtime
