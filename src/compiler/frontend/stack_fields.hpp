#pragma once
// The struct fields that hold stacks, read from the programs of the main file
// in the embedded compiler (issue 10), for `meta.stack_fields`:
//
//   "stack_fields": {
//     "struct key_t": {
//       "kern_stack_id": {"kind": "id", "map": "stackmap", "user": false},
//       "user_stack_id": {"kind": "id", "map": "stackmap", "user": true}
//     },
//     "struct event": {
//       "kstack": {"kind": "addresses", "user": false, "size_field": "kstack_sz"},
//       "ustack": {"kind": "addresses", "user": true, "size_field": "ustack_sz", "build_id": true}
//     }
//   }
//
// "id": the field is assigned the result of `bpf_get_stackid(ctx, &MAP,
// FLAGS)` (directly, through a `?:`, through a local variable, or in a
// designated initializer): a stack id in the STACK_TRACE map MAP.
// "addresses": the field is the buffer of `bpf_get_stack(ctx, BUF, SIZE,
// FLAGS)` or `bpf_get_task_stack(task, BUF, SIZE, FLAGS)` (`e->kstack`,
// `&e->kstack`, `e->kstack[0]`): an array of instruction addresses.
// "size_field" names the member of the same struct the call's result (the
// byte count, negative on error) is stored in, directly or through a local.
// "user" is true when FLAGS has BPF_F_USER_STACK (evaluated when constant,
// else when the flags expression, or a local's initializer, spells
// BPF_F_USER_STACK); "build_id" is written (true) when it has
// BPF_F_USER_BUILD_ID. Struct names are those of `meta.field_formats`
// (ast_util.hpp field_owner_name: "struct key_t", the typedef's name for
// `typedef struct {...} name`, the named struct around an anonymous one); the
// struct may be declared anywhere (a header), the calls count in every
// function of the main file. Not followed: a stack trace map passed to a
// helper function as a parameter, stack buffers that
// are not struct fields (a map value used as an array). What cannot be
// understood is left out with at most a warning ("file:line: warning: ...").
//
// eunomia-bpf's form (`/// @intepreter {"stack_trace": {}}` on a ring buffer
// whose events carry `kstack`/`ustack` filled by bpf_get_stack with their
// byte counts in `kstack_sz`/`ustack_sz`) is found the same way.
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>

#include <map>
#include <string>
#include <vector>

#include "package/package.hpp"

namespace ecli::compiler {

class StackFields {
 public:
  explicit StackFields(const clang::ASTContext& context) : context_(context) {}
  // A function definition of the main file (others are ignored).
  void add_function(const clang::FunctionDecl* function);
  // The `meta.stack_fields` object; empty when no field holds a stack.
  package::Json result() const;
  const std::vector<std::string>& warnings() const { return warnings_; }

  struct Stack {
    std::string kind;  // "id" or "addresses"; empty: not a stack call
    std::string map;   // "id": the stack trace map
    bool user = false, build_id = false;
    const clang::FieldDecl* buffer = nullptr;  // "addresses": the field of the buffer
    const clang::Expr* where = nullptr;        // the call, for warnings
  };

 private:
  struct Field {
    Stack stack;
    std::string size_field;
  };
  using Locals = std::map<const clang::Decl*, Stack>;
  void walk(const clang::Stmt* s, Locals& locals);
  void initializers(const clang::InitListExpr* list, Locals& locals);
  Stack analyse_call(const clang::CallExpr* call) const;
  const Stack* stack_of(const clang::Expr* e, const Locals& locals, Stack& scratch) const;
  bool has_flag(const clang::Expr* arg, unsigned long long bit, llvm::StringRef name, int depth = 0) const;
  void record(const clang::FieldDecl* field, const Stack& stack, const std::string& size_field = {});

  const clang::ASTContext& context_;
  std::map<std::string, std::map<std::string, Field>> fields_;  // owner -> field
  std::vector<std::string> warnings_;
};

}  // namespace ecli::compiler
