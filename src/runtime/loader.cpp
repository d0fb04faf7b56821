#include "runtime/loader.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/capability.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "runtime/libbpf_log.hpp"
#include "runtime/messages.hpp"
#include "runtime/map_sizing.hpp"
#include "runtime/program_choice.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

constexpr int kHelperTracePrintk = 6;
constexpr int kHelperTraceVprintk = 177;

// The lines between libbpf's BEGIN/END markers for `prog`, if it printed them.
std::string verifier_log_of(const std::string& log, const std::string& prog) {
  std::string begin_marker = "prog '" + prog + "': -- BEGIN PROG LOAD LOG --";
  size_t begin = log.find(begin_marker);
  if (begin == std::string::npos) return {};
  begin = log.find('\n', begin);
  size_t end = log.find("-- END PROG LOAD LOG --", begin);
  if (begin == std::string::npos || end == std::string::npos) return {};
  std::string text = log.substr(begin + 1, end - begin - 1);
  // libbpf prefixes the END marker with "libbpf: prog 'x': ", which we cut at the last newline.
  size_t cut = text.rfind('\n');
  return cut == std::string::npos ? std::string() : text.substr(0, cut + 1);
}

// The last lines of a verifier log: the reason is at the end, after the
// instruction trace. Drops the summary lines ("processed N insns").
std::string log_tail(const std::string& log, size_t max_lines, std::string& reason) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    std::string line = log.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? log.size() : nl + 1;
    if (line.empty() || line.starts_with("processed ") || line.starts_with("verification time")) continue;
    lines.push_back(line);
  }
  if (!lines.empty()) reason = lines.back();
  std::string out;
  for (size_t i = lines.size() > max_lines ? lines.size() - max_lines : 0; i < lines.size(); i++)
    out += "  " + lines[i] + "\n";
  return out;
}

// Which program libbpf says failed, from "prog 'NAME': failed to load".
struct bpf_program* failed_program(struct bpf_object* object, const std::string& log) {
  struct bpf_program* prog;
  struct bpf_program* found = nullptr;
  size_t found_at = 0;
  bpf_object__for_each_program(prog, object) {
    std::string needle = fmt::format("prog '{}': failed to load", bpf_program__name(prog));
    size_t at = log.rfind(needle);
    if (at == std::string::npos) {
      needle = fmt::format("prog '{}': BPF program load failed", bpf_program__name(prog));
      at = log.rfind(needle);
    }
    if (at != std::string::npos && (!found || at > found_at)) {
      found = prog;
      found_at = at;
    }
  }
  return found;
}

bool is_trampoline_kind(const std::string& kind) {
  return kind == "fentry" || kind == "fexit" || kind == "fmod_ret" || kind == "lsm" || kind == "freplace" ||
         kind == "fentry.s" || kind == "fexit.s" || kind == "lsm.s" || kind == "iter" || kind == "iter.s";
}

// Kinds whose attach point libbpf looks up in the kernel's BTF at load time.
bool is_btf_attach_kind(const std::string& kind) { return is_trampoline_kind(kind) || kind == "tp_btf"; }

// The map libbpf says it could not create, from "map 'NAME': failed to create".
struct bpf_map* failed_map(struct bpf_object* object, const std::string& log) {
  struct bpf_map* map;
  bpf_object__for_each_map(map, object) {
    if (log.find(fmt::format("map '{}': failed to create", bpf_map__name(map))) != std::string::npos) return map;
  }
  return nullptr;
}

// Whether a failed load is about CO-RE relocation (the BTF we relocate against), not a program.
bool is_core_failure(const std::string& log) {
  return log.find("target BTF") != std::string::npos || log.find("CO-RE") != std::string::npos ||
         log.find("relo #") != std::string::npos || log.find("failed to relocate") != std::string::npos;
}

struct LoadFailure {
  std::string message;  // the whole error line
  std::string details;  // verifier log tail
  std::string reason;   // the short why, for "skipped PROG: REASON"
  bool whole_kind = false;  // the kernel lacks this kind of program altogether
};

LoadFailure describe_load_failure(struct bpf_program* prog, int err, const std::string& log) {
  std::string section = bpf_program__section_name(prog);
  std::string kind = section_kind(section);
  std::string target = section.find('/') == std::string::npos ? "" : section.substr(section.find('/') + 1);
  std::string verifier = verifier_log_of(log, bpf_program__name(prog));
  std::string last_line;
  std::string tail = log_tail(verifier, 20, last_line);
  LoadFailure f;
  if (is_btf_attach_kind(kind) && err == -ESRCH) {
    f.reason = fmt::format("{} {} is not in the kernel's BTF (it does not exist on this kernel)",
                           kind == "tp_btf" ? "tracepoint" : "function", target);
    f.message = fmt::format("cannot load program {}: {}", program_label(prog), f.reason);
  } else if (is_trampoline_kind(kind) && tail.empty() &&
             (err == -EPERM || err == -EOPNOTSUPP || err == -524 /*ENOTSUPP*/)) {
    f.reason = fmt::format("this kernel does not support BPF trampolines (fentry/fexit/lsm): {}", errno_text(err));
    f.whole_kind = true;
    f.message = fmt::format("the kernel refused to load {} program {} ({}): this kernel does not support BPF "
                            "trampolines (fentry/fexit/lsm); use a kprobe or a tracepoint instead",
                            kind, program_label(prog), errno_text(err));
  } else if (std::string refusal = tail.empty() ? "" : lockdown_refusal(last_line, lockdown_mode());
             !refusal.empty()) {
    f.reason = refusal;
    f.message = fmt::format("the kernel refused program {}: {}", program_label(prog), refusal);
    f.details = "verifier log (last lines):\n" + tail;
  } else if (!tail.empty()) {
    f.reason = "the BPF verifier rejected it: " + last_line;
    f.message = fmt::format("the BPF verifier rejected program {}: {}", program_label(prog), last_line);
    f.details = "verifier log (last lines):\n" + tail;
  } else {
    std::string why = last_libbpf_message();
    f.reason = errno_text(err) + (why.empty() ? "" : " (" + why + ")");
    f.message = fmt::format("cannot load program {}: {}", program_label(prog), f.reason);
  }
  return f;
}

}  // namespace

std::string program_label(const struct bpf_program* prog) {
  return fmt::format("'{}' (SEC(\"{}\"))", bpf_program__name(prog), bpf_program__section_name(prog));
}

std::string section_kind(const std::string& section) {
  size_t slash = section.find('/');
  std::string kind = section.substr(0, slash);
  size_t plus = kind.find('+');
  return plus == std::string::npos ? kind : kind.substr(0, plus);
}

bool has_bpf_privileges() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &header, data) != 0) return geteuid() == 0;
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
  constexpr int kCapBpf = 39;
  return has(CAP_SYS_ADMIN) || has(kCapBpf);
}

BpfObject::BpfObject(const package::Package& package, LoadPolicy policy)
    : elf_(package.object),
      name_(package.meta.obj_name.empty() ? "ecli_bpf" : package.meta.obj_name),
      core_btf_(elf_),
      policy_(std::move(policy)) {
  try {
    open(true);
  } catch (...) {
    // No destructor runs when the constructor throws (e.g. prepare refusing a
    // missing interface after the object was opened): close it here.
    bpf_object__close(object_);
    throw;
  }
}

void BpfObject::reopen(bool use_cached_core_btf) {
  bpf_object__close(object_);
  object_ = nullptr;
  open(use_cached_core_btf);
  apply(settings_);
}

void BpfObject::open(bool use_cached_core_btf) {
  std::string core_btf = use_cached_core_btf ? core_btf_.path().string() : "";
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name_.c_str(),
              .btf_custom_path = core_btf.empty() ? nullptr : core_btf.c_str());
  opened_with_core_btf_ = !core_btf.empty();
  if (use_cached_core_btf && !core_btf_.note().empty()) verbose_note(core_btf_.note());
  else if (has_core_relocations(elf_)) verbose_note("CO-RE relocations use the kernel's BTF");
  clear_libbpf_log();
  struct bpf_object* object = bpf_object__open_mem(elf_.data(), elf_.size(), &opts);
  if (long err = libbpf_get_error(object); err) {
    std::string why = last_libbpf_message();
    throw Error(fmt::format("cannot open the BPF object: {}{}", errno_text(static_cast<int>(err)),
                            why.empty() ? "" : " (" + why + ")"));
  }
  object_ = object;
  if (policy_.choice) policy_.choice->apply(object_);
  if (policy_.sizing) {
    sizing_report_.clear();
    policy_.sizing->apply(object_, &sizing_report_);
  }
  if (policy_.prepare) policy_.prepare(object_);
  const struct btf* btf = bpf_object__btf(object_);
  globals_.clear();
  for (auto& var : btf::list_globals(object_)) {
    if (!section_map(var.section)) continue;  // e.g. an empty section libbpf made no map for
    globals_.emplace_back(var, btf::describe_value_type(btf, var.type_id));
  }
}

BpfObject::~BpfObject() {
  for (auto& [section, mapping] : mapped_) munmap(mapping.first, mapping.second);
  bpf_object__close(object_);
}

struct bpf_map* BpfObject::section_map(const std::string& section) const {
  const struct btf* btf = bpf_object__btf(object_);
  if (!btf) return nullptr;
  struct bpf_map* map;
  bpf_object__for_each_map(map, object_) {
    if (!bpf_map__is_internal(map)) continue;
    const btf_type* t = btf__type_by_id(btf, bpf_map__btf_value_type_id(map));
    if (t && btf_is_datasec(t) && section == btf__name_by_offset(btf, t->name_off)) return map;
  }
  return nullptr;
}

uint8_t* BpfObject::mapped_section(const std::string& section) {
  if (auto it = mapped_.find(section); it != mapped_.end()) return static_cast<uint8_t*>(it->second.first);
  struct bpf_map* map = section_map(section);
  if (!map || bpf_map__fd(map) < 0 || !(bpf_map__map_flags(map) & BPF_F_MMAPABLE)) return nullptr;
  // The kernel's own pages of the section, shared with the programs (as a skeleton maps them).
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t size = (bpf_map__value_size(map) + page - 1) / page * page;
  bool read_only = bpf_map__map_flags(map) & BPF_F_RDONLY_PROG;
  void* mem = mmap(nullptr, size, read_only ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, bpf_map__fd(map), 0);
  if (mem == MAP_FAILED) return nullptr;
  mapped_[section] = {mem, size};
  return static_cast<uint8_t*>(mem);
}

std::string BpfObject::initial_bytes(const btf::GlobalVariable& var) const {
  struct bpf_map* map = section_map(var.section);
  if (!map) return std::string(var.size, '\0');
  size_t size = 0;
  const char* data = static_cast<const char*>(bpf_map__initial_value(map, &size));
  if (!data || var.offset + var.size > size) return std::string(var.size, '\0');
  return std::string(data + var.offset, var.size);
}

void BpfObject::apply(const std::vector<GlobalSetting>& settings) {
  if (&settings != &settings_) settings_.insert(settings_.end(), settings.begin(), settings.end());
  for (const auto& setting : settings) {
    struct bpf_map* map = section_map(setting.var.section);
    size_t size = 0;
    const char* data = map ? static_cast<const char*>(bpf_map__initial_value(map, &size)) : nullptr;
    if (!data || setting.var.offset + setting.bytes.size() > size)
      throw Error("cannot set " + setting.var.name + ": its section " + setting.var.section + " is not in the object");
    std::string image(data, size);
    std::memcpy(image.data() + setting.var.offset, setting.bytes.data(), setting.bytes.size());
    if (int err = bpf_map__set_initial_value(map, image.data(), image.size()); err)
      throw Error("cannot set " + setting.var.name + ": " + errno_text(err));
  }
}

bool BpfObject::uses_trace_printk() const {
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, object_) {
    const struct bpf_insn* insns = bpf_program__insns(prog);
    size_t count = bpf_program__insn_cnt(prog);
    for (size_t i = 0; i < count; i++) {
      if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == 0 &&
          (insns[i].imm == kHelperTracePrintk || insns[i].imm == kHelperTraceVprintk))
        return true;
    }
  }
  return false;
}

void BpfObject::load() {
  for (;;) {
    clear_libbpf_log();
    int err = bpf_object__load(object_);
    if (!err) return;
    std::string log = libbpf_log();
    if (opened_with_core_btf_ && is_core_failure(log)) {
      // The cached BTF did not serve (it should always): drop it and load with the kernel's full BTF.
      core_btf_.forget();
      reopen(false);
      continue;
    }
    if ((err == -EPERM || err == -EACCES) && !has_bpf_privileges())
      throw Error(
          "permission denied: loading BPF programs needs root (or CAP_BPF with CAP_PERFMON); run ecli with sudo");
    if (struct bpf_map* map = failed_map(object_, log)) {
      if (policy_.sizing) throw Error(policy_.sizing->explain_failure(map, err));
      throw Error(fmt::format("cannot create map '{}' ({}): {}", bpf_map__name(map), map_type_name(map),
                              errno_text(err)));
    }
    struct bpf_program* prog = failed_program(object_, log);
    if (!prog) {
      std::string why = last_libbpf_message();
      throw Error(
          fmt::format("cannot load the BPF object: {}{}", errno_text(err), why.empty() ? "" : " (" + why + ")"));
    }
    LoadFailure failure = describe_load_failure(prog, err, log);
    if (policy_.choice && policy_.choice->exclude(prog, failure.reason, failure.message, failure.details)) {
      // One refusal of a missing mechanism stands for every program that needs it: one reload, not one each.
      struct bpf_program* other;
      bpf_object__for_each_program(other, object_) {
        if (failure.whole_kind && bpf_program__autoload(other) &&
            is_trampoline_kind(section_kind(bpf_program__section_name(other))))
          policy_.choice->exclude(other, failure.reason);
      }
      reopen(opened_with_core_btf_);  // a failed load leaves the object unusable; the next one goes without it
      continue;
    }
    throw Error(failure.message, failure.details);
  }
}

}  // namespace ecli::runtime
