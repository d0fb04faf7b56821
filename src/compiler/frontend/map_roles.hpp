#pragma once
// What the programs do with each map and global of the main file, read from
// the source's AST (in the embedded compiler, frontend.hpp), and the role
// that follows (issue 9). ecli prints at exit the maps and globals whose role
// is "result"; the rest stay quiet.
//
// Maps (`meta.bpf_skel.maps[i].role`), by the map type, then by use:
//   "events"        RINGBUF, USER_RINGBUF, PERF_EVENT_ARRAY
//   "stack_traces"  STACK_TRACE (printed through the keys that refer to them)
//   "programs"      PROG_ARRAY
//   "maps"          ARRAY_OF_MAPS, HASH_OF_MAPS
//   "state"         task/inode/socket/cgroup storage, and any map the
//                   programs delete from (bpf_map_delete_elem, pop): start
//                   timestamps by pid or request
//   "scratch"       an ARRAY or PERCPU_ARRAY the programs never update with
//                   bpf_map_update_elem and whose looked-up value (whole or a
//                   part of it) is handed to a helper as a buffer: the data of
//                   bpf_ringbuf_output / bpf_perf_event_output / bpf_seq_write,
//                   either side of __builtin_memcpy, the destination of
//                   bpf_probe_read*, bpf_get_current_comm, bpf_get_stack,
//                   bpf_d_path, bpf_snprintf...
//   "result"        written by the programs: bpf_map_update_elem or a store
//                   through a pointer from bpf_map_lookup_elem (`v->x += d`,
//                   `(*count)++`, `__sync_fetch_and_add(&v->slots[i], 1)`)
//   "config"        only looked up (filled by user space)
//   "other"         not referenced by any program, or of another type
// HASH, ARRAY, their PERCPU and LRU forms, LPM_TRIE and maps whose type the
// source does not say are judged by use; the first rule that fits wins.
//
// Globals (`data_sections[].variables[].role`): "result" when a program
// writes it (assignment, `+=`, `++`, a member or element of it, an atomic
// builtin or helper writing through its address, directly or through a local
// pointer) and never uses its value otherwise; "state" when a program writes
// it and also reads it (a sequence number `e->seq = ++seq`, a once-flag
// `if (calls++ == 0)`, a start timestamp `delta = now - start[cpu]`);
// "option" when programs only read it (or do not use it). An array global whose length is written as an
// enumerator (`__u64 counts[NR_SOFTIRQS]`) also gets `"index_names"`: one name
// per element, the enumerator of that value (its decimal value where the enum
// has none), so anonymous enums work too.
//
// Pointers are followed through local variables and into the functions they
// are passed to (a map or a value pointer as an argument), so helpers such as
// libbpf-tools' bpf_map_lookup_or_try_init count. A call whose name contains
// "lookup" with a map as first argument returns a pointer into that map.
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/Stmt.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "package/package.hpp"

namespace ecli::compiler {

class RoleAnalysis {
 public:
  explicit RoleAnalysis(const clang::ASTContext& context) : context_(context) {}
  // A file-scope variable, map or global, of the main file.
  void add_declaration(const clang::VarDecl* var);
  // A function definition of the main file: what its body does.
  void add_function(const clang::FunctionDecl* function);
  // name -> {"role": ..., "index_names"?: [...]} for each declaration added.
  std::map<std::string, package::Json> roles() const;

  struct Usage {
    bool is_map = false;  // declared as a BTF-defined map, or used as one
    long map_type = -1;   // BPF_MAP_TYPE_*, -1 when not a map or not said
    bool referenced = false, looked_up = false, updated = false, deleted = false;
    bool written = false;     // a global stored to, or a map value stored through
    bool read = false;        // a global's value used (not only updated in place)
    bool buffer_use = false;  // a map value handed to a helper as a buffer
    std::vector<std::string> index_names;
  };

 private:
  struct Binding {
    std::string name;
    bool map_handle = false;  // the map itself, else a pointer into its value
  };
  struct Walk {
    std::map<const clang::Decl*, Binding> bindings;  // local or parameter declaration -> target
    int depth = 0;
  };
  void walk(const clang::Stmt* s, const clang::Stmt* parent, Walk& w);
  void local_declaration(const clang::VarDecl* var, Walk& w);
  void call(const clang::CallExpr* c, const clang::Stmt* parent, Walk& w);
  void atomic(const clang::AtomicExpr* a, const clang::Stmt* parent, Walk& w);
  std::string resolve_map(const clang::Expr* arg, const Walk& w);
  const Binding* origin(const clang::Expr* expr, const Walk& w);
  void mark_store(const clang::Expr* lvalue, const Walk& w);
  void mark_pointer(const clang::Expr* ptr, const Walk& w, bool write, bool buffer);

  const clang::ASTContext& context_;
  std::set<std::string> declared_;
  std::map<std::string, Usage> usage_;
  std::set<const clang::Expr*> not_reads_;  // DeclRefExprs that are stored to or have their address taken
  std::set<std::string> walked_;            // function + bindings already walked
  Binding scratch_binding_;                 // origin()'s result for expressions without a declaration
};

// The role for a map's usage (the table above).
std::string map_role(const RoleAnalysis::Usage& u);

}  // namespace ecli::compiler
