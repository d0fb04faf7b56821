#pragma once
// Stacks inside records (issue 10): events, map keys and values whose fields
// hold a stack id or an array of addresses. The run resolves such a field into
// frames through a StackSource (runtime/stack_resolver.hpp: the stack map and
// the symbolizer); the writers print what it returns, and a StackFolder adds
// records up as folded stacks for --folded and --flamegraph.
#include <cstdint>
#include <string>
#include <vector>

#include "btf/render_plan.hpp"
#include "output/stacks.hpp"

namespace ecli::output {

class StackSource {
 public:
  virtual ~StackSource() = default;
  // The stack that `field` (field.stack >= 0) holds in the record at `base`,
  // of which `avail` bytes can be read. Valid until the next call.
  virtual const Stack& stack_of(const btf::FieldPlan& field, const uint8_t* base, size_t avail) = 0;
};

bool has_stack_fields(const btf::RenderPlan& plan);
// Once the plan's fields are where they will be read (a map's key and value
// side by side in one row): each stack field learns its siblings, the byte
// count that bpf_get_stack returned when not known yet (`size_fields`, else
// "<field>_sz", "_size" or "_len") and the process (a field "tgid", else "pid").
void bind_stack_fields(btf::RenderPlan& plan, const std::vector<std::string>& size_fields);

// Folds records of one plan: "comm;user frames;kernel frames COUNT".
class StackFolder {
 public:
  // `count_field`: the field whose value is a record's count (a map's value
  // or its first integer member), or -1 to count each record once. The comm
  // is the first char array named comm, task or name.
  StackFolder(const btf::RenderPlan& plan, int count_field);
  void add(FoldedStacks& out, StackSource& source, const uint8_t* record, size_t size) const;
  // The field a map's record is counted by: "value" when it is an integer, else
  // the value's first integer member; -1 when there is none.
  static int count_field_of(const btf::RenderPlan& plan, uint32_t value_offset);

 private:
  const btf::RenderPlan& plan_;
  int count_field_;
  int comm_field_ = -1;
  std::vector<size_t> user_, kernel_;  // stack fields, user stacks first
  // Scratch, kept between records so that folding reuses its storage.
  mutable std::vector<Stack> held_;
  mutable std::vector<const Stack*> order_;
};

}  // namespace ecli::output
