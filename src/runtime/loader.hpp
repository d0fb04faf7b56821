#pragma once
// An opened (then loaded) BPF object: globals set from options, loading with
// errors explained in one line (privileges, missing kernel features, the
// verifier's reason). Owns the bpf_object; closing it frees every fd.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "btf/object_meta.hpp"
#include "btf/value_type.hpp"
#include "package/package.hpp"
#include "runtime/core_btf.hpp"
#include "runtime/options.hpp"

struct bpf_object;
struct bpf_program;
struct bpf_map;

namespace ecli::runtime {

class ProgramChoice;
class MapSizing;

// What happens between opening and loading, and what a failed load may drop.
struct LoadPolicy {
  ProgramChoice* choice = nullptr;  // null: every program must load (all or nothing)
  const MapSizing* sizing = nullptr;
  std::function<void(struct bpf_object*)> prepare;  // after each open, e.g. tcx hooks
};

class BpfObject {
 public:
  explicit BpfObject(const package::Package& package, LoadPolicy policy = {});
  ~BpfObject();
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  struct bpf_object* get() const { return object_; }

  // Settable globals with their value types (empty for objects without BTF).
  const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals() const { return globals_; }
  std::string initial_bytes(const btf::GlobalVariable& var) const;
  void apply(const std::vector<GlobalSetting>& settings);

  // After loading: the memory of a data section (.bss, .data) that the kernel
  // shares with the programs, mapped once; null when the section cannot be mapped.
  uint8_t* mapped_section(const std::string& section);

  // Whether any program calls bpf_trace_printk / bpf_trace_vprintk.
  bool uses_trace_printk() const;

  // Loads every program the policy keeps. A program that fails is dropped
  // when the policy's choice allows it (its alternative, if any, is loaded
  // instead); otherwise the failure is thrown as one line.
  void load();
  // Sizes the policy chose for maps left unsized ("map 'stacks' (stack_trace): value_size 1016").
  const std::vector<std::string>& sizing_report() const { return sizing_report_; }
  // After a successful run: makes this object's minimal CO-RE BTF for later runs,
  // giving up after `patience`.

 private:
  void open(bool use_cached_core_btf);
  void reopen(bool use_cached_core_btf);
  struct ::bpf_map* section_map(const std::string& section) const;

  std::string elf_;  // libbpf keeps pointers into the ELF image until load
  std::string name_;
  CoreBtfCache core_btf_;
  bool opened_with_core_btf_ = false;
  struct bpf_object* object_ = nullptr;
  std::vector<std::pair<btf::GlobalVariable, btf::ValueType>> globals_;
  std::vector<GlobalSetting> settings_;  // applied again if the object is reopened
  LoadPolicy policy_;
  std::map<std::string, std::pair<void*, size_t>> mapped_;  // section -> our mapping of it
  std::vector<std::string> sizing_report_;
};

// "'name' (SEC(\"fentry/x\"))": how messages name a program.
std::string program_label(const struct bpf_program* prog);

// "fentry", "kprobe", "tracepoint"... the libbpf section kind of a program.
std::string section_kind(const std::string& section);

// True when the process may load BPF programs (root, CAP_BPF or CAP_SYS_ADMIN).
bool has_bpf_privileges();

}  // namespace ecli::runtime
