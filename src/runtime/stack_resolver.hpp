#pragma once
// The run's stacks (issue 10): which fields of the printed structs hold
// stacks, and turning such a field of one record into frames. A field holds
// a stack when ecc said so (meta.stack_fields: a stack id from
// bpf_get_stackid into a stack trace map, or addresses filled by
// bpf_get_stack); for objects and packages without that key, by its name and
// type: an integer named like *stack*id* when the object has a stack trace
// map, or an array of __u64 named like *stack* (eunomia's kstack/ustack,
// marked there with @intepreter {"stack_trace": {}}). "user" or a leading
// "u" in the name make it a user stack.
//
// User frames are resolved in the record's process (its tgid or pid field,
// else the run's -p/-c process). Lost stacks (negative ids, a full stack map)
// are counted and reported once at exit.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "btf/render_plan.hpp"
#include "output/stack_records.hpp"
#include "package/package.hpp"
#include "symbols/symbolizer.hpp"

namespace ecli::runtime {

class BpfObject;

class StackResolver : public output::StackSource {
 public:
  StackResolver(BpfObject& object, const package::Meta& meta, symbols::SymbolizerOptions options);
  ~StackResolver() override;
  // Marks the stack fields of `plan` (a struct of the object's BTF, printed
  // under `map_name`), finding the sibling fields of the byte counts; then
  // the caller places the plan and calls output::bind_stack_fields.
  void mark(btf::RenderPlan& plan);
  // The process of user stacks in records without a pid field (-p, -c).
  void set_default_pid(int pid) { default_pid_ = pid; }
  // Reads a process's mappings now, while it still runs (-c before it exits).
  void remember_process(int pid) { symbolizer_.remember_process(static_cast<uint32_t>(pid)); }
  const output::Stack& stack_of(const btf::FieldPlan& field, const uint8_t* base, size_t avail) override;
  // Stack map reads are cached until the next print.
  void forget_stack_ids() { ids_.clear(); }
  // "N stacks were lost: the stack map 'stackmap' is full..." at exit; empty when none.
  std::vector<std::string> lost_report() const;

 private:
  struct Spec {
    bool id = false;  // a stack id, else an array of addresses
    bool user = false;
    bool build_id = false;  // entries are struct bpf_stack_build_id
    std::string map;        // id: the stack trace map
    int map_fd = -1;
    uint32_t map_value_size = 0;
    std::string size_field;  // addresses: the field with the byte count
  };
  int spec_for(const std::string& type, const btf::FieldPlan& f);
  void resolve_addresses(const Spec& spec, const uint64_t* ips, size_t n, uint32_t pid);
  void resolve_build_ids(const uint8_t* entries, size_t n);

  symbols::Symbolizer symbolizer_;
  std::map<std::string, std::map<std::string, Spec>> declared_;  // meta.stack_fields: type -> field -> spec
  bool declared_known_ = false;  // the package says which fields hold stacks (else: by name)
  std::vector<std::pair<std::string, int>> stack_maps_;  // the object's stack trace maps: name, fd
  std::vector<Spec> specs_;                              // FieldPlan::stack indexes these
  int default_pid_ = 0;
  output::Stack current_;
  std::unordered_map<uint64_t, std::vector<uint8_t>> ids_;  // (map fd << 32 | id) -> the stack map's value
  std::vector<uint8_t> buffer_;
  std::map<std::string, uint64_t> lost_;  // reason -> count
  std::thread kernel_symbols_;            // reads /proc/kallsyms while the tool runs
};

}  // namespace ecli::runtime
