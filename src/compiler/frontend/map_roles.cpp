#include "compiler/frontend/map_roles.hpp"

#include <clang/AST/ASTContext.h>
#include <clang/AST/TypeLoc.h>
#include <linux/bpf.h>

#include <algorithm>
#include <string_view>

#include "compiler/frontend/ast_util.hpp"

namespace ecli::compiler {
using namespace ast;
namespace {

bool is_pointer(const clang::Expr* e) { return e && e->getType()->isPointerType(); }

bool is_array(const clang::Expr* e) { return e && llvm::isa<clang::ConstantArrayType>(e->getType().getCanonicalType()); }

// One step from an lvalue towards the variable it is part of: the base of
// `v->x` and `a[i]`, the operand of `*p`; null for anything else. `pointer`:
// whether that step goes through a pointer.
const clang::Expr* lvalue_base(const clang::Expr* e, bool& pointer) {
  if (const auto* member = llvm::dyn_cast<clang::MemberExpr>(e)) {
    pointer = is_pointer(skip_noise(member->getBase()));
    return member->getBase();
  }
  if (const auto* subscript = llvm::dyn_cast<clang::ArraySubscriptExpr>(e)) {
    pointer = is_pointer(skip_noise(subscript->getBase()));
    return subscript->getBase();
  }
  if (const auto* unary = llvm::dyn_cast<clang::UnaryOperator>(e); unary && unary->getOpcode() == clang::UO_Deref) {
    pointer = true;
    return unary->getSubExpr();
  }
  return nullptr;
}

// The DeclRefExpr an lvalue is rooted at (`counts[cpu]` -> `counts`), or null.
const clang::DeclRefExpr* lvalue_root_ref(const clang::Expr* e) {
  for (int guard = 0; e && guard < 32; guard++) {
    e = skip_noise(e);
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) return ref;
    bool pointer = false;
    e = lvalue_base(e, pointer);
  }
  return nullptr;
}

// The declaration an lvalue is part of (`v->slots[i]` -> v, `counts[cpu]` ->
// counts), and whether the way there went through a pointer.
const clang::ValueDecl* lvalue_root(const clang::Expr* e, bool& through_pointer) {
  for (int guard = 0; e && guard < 32; guard++) {
    e = skip_noise(e);
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) return ref->getDecl();
    bool pointer = false;
    e = lvalue_base(e, pointer);
    through_pointer |= pointer;
  }
  return nullptr;
}

// Whether the value of an expression is thrown away (`x++;` as a statement).
bool value_unused(const clang::Stmt* parent) {
  return parent && (llvm::isa<clang::CompoundStmt>(parent) || llvm::isa<clang::LabelStmt>(parent) ||
                    llvm::isa<clang::SwitchCase>(parent));
}

// `__uint(type, BPF_MAP_TYPE_HASH)` is `int (*type)[1]`: the length of the
// array the field `name` points to; -2: no such field, -1: not a pointer to an array.
long array_size_of_field(const clang::RecordDecl* record, llvm::StringRef name) {
  for (const clang::FieldDecl* field : record->fields()) {
    if (field->getName() != name) continue;
    const auto* pointer = field->getType()->getAs<clang::PointerType>();
    if (!pointer) return -1;
    const auto* array = llvm::dyn_cast<clang::ConstantArrayType>(pointer->getPointeeType().getCanonicalType());
    return array ? static_cast<long>(array->getSize().getZExtValue()) : -1;
  }
  return -2;
}

// Helpers that write through argument N: the destination of a copy.
int destination_argument(std::string_view callee) {
  if (callee.starts_with("bpf_probe_read") || callee == "bpf_get_current_comm" ||
      callee.starts_with("bpf_copy_from_user") || callee == "bpf_snprintf" || callee == "__builtin_memcpy" ||
      callee == "__builtin_memset" || callee == "__builtin_memmove" || callee == "bpf_core_read" ||
      callee == "bpf_strncmp")
    return callee == "bpf_strncmp" ? -1 : 0;
  if (callee == "bpf_d_path" || callee == "bpf_get_stack" || callee == "bpf_get_task_stack" ||
      callee == "bpf_read_branch_records" || callee == "bpf_get_ns_current_pid_tgid")
    return 1;
  return -1;
}

// Helpers that read a buffer from argument N: data sent out or copied.
int source_argument(std::string_view callee) {
  if (callee == "bpf_ringbuf_output" || callee == "bpf_seq_write" || callee == "__builtin_memcpy" ||
      callee == "__builtin_memmove")
    return 1;
  if (callee == "bpf_perf_event_output" || callee == "bpf_skb_output" || callee == "bpf_xdp_output") return 3;
  return -1;
}

bool is_atomic_builtin(std::string_view callee) {
  return callee.starts_with("__sync_") || callee.starts_with("__atomic_");
}

std::string pointer_key(const void* p) { return std::to_string(reinterpret_cast<uintptr_t>(p)); }

}  // namespace

void RoleAnalysis::add_declaration(const clang::VarDecl* var) {
  if (!file_scope(var) || !in_main_file(context_.getSourceManager(), var->getLocation())) return;
  std::string name = var->getName().str();
  if (!declared_.insert(name).second) return;
  Usage& u = usage_[name];
  if (const clang::RecordDecl* record = var->getType()->getAsRecordDecl()) {
    // A BTF-defined map: `__uint(type, BPF_MAP_TYPE_HASH)` is `int (*type)[1]`.
    long map_type = array_size_of_field(record, "type");
    u.is_map = map_type != -2;
    u.map_type = std::max(map_type, -1L);
  }
  const auto* array = context_.getAsConstantArrayType(var->getType());
  const clang::TypeSourceInfo* written = var->getTypeSourceInfo();
  if (!array || !written) return;
  // `counts[NR_SOFTIRQS]`: the length is written as an enumerator.
  auto loc = written->getTypeLoc().getAsAdjusted<clang::ArrayTypeLoc>();
  const clang::Expr* size = loc ? skip_noise(loc.getSizeExpr()) : nullptr;
  const auto* ref = llvm::dyn_cast_or_null<clang::DeclRefExpr>(size);
  const auto* constant = ref ? llvm::dyn_cast<clang::EnumConstantDecl>(ref->getDecl()) : nullptr;
  long long length = static_cast<long long>(array->getSize().getZExtValue());
  if (!constant || constant->getInitVal().getExtValue() != length) return;
  std::vector<std::string> names(static_cast<size_t>(std::clamp(length, 0LL, 4096LL)));
  for (const clang::EnumConstantDecl* e : llvm::cast<clang::EnumDecl>(constant->getDeclContext())->enumerators()) {
    long long value = e->getInitVal().getExtValue();
    if (value >= 0 && value < static_cast<long long>(names.size()) && names[value].empty()) names[value] = e->getName().str();
  }
  for (size_t i = 0; i < names.size(); i++)
    if (names[i].empty()) names[i] = std::to_string(i);
  u.index_names = std::move(names);
}

void RoleAnalysis::add_function(const clang::FunctionDecl* function) {
  if (!function->doesThisDeclarationHaveABody() ||
      !in_main_file(context_.getSourceManager(), function->getLocation()))
    return;
  if (!walked_.insert(pointer_key(function)).second) return;
  Walk w;
  walk(function->getBody(), nullptr, w);
}

std::string RoleAnalysis::resolve_map(const clang::Expr* arg, const Walk& w) {
  const clang::ValueDecl* decl = declaration_named(arg);
  if (!decl) return {};
  if (auto it = w.bindings.find(decl); it != w.bindings.end())
    return it->second.map_handle ? it->second.name : std::string();
  if (!file_scope(decl)) return {};
  return decl->getType()->isRecordType() ? decl->getName().str() : std::string();
}

// What a pointer expression points into: a map's value or a global.
const RoleAnalysis::Binding* RoleAnalysis::origin(const clang::Expr* expr, const Walk& w) {
  const clang::Expr* e = skip_noise(expr);
  if (!e) return nullptr;
  auto rooted = [&](const clang::Expr* lvalue) -> const Binding* {
    bool through = false;
    const clang::ValueDecl* root = lvalue_root(lvalue, through);
    if (!root) return nullptr;
    if (auto it = w.bindings.find(root); it != w.bindings.end()) return it->second.map_handle ? nullptr : &it->second;
    if (!file_scope(root) || through) return nullptr;
    scratch_binding_ = {root->getName().str(), false};
    return &scratch_binding_;
  };
  if (const auto* call = llvm::dyn_cast<clang::CallExpr>(e)) {
    if (callee_name(call).find("lookup") == std::string::npos || call->getNumArgs() < 1) return nullptr;
    std::string map = resolve_map(call->getArg(0), w);
    if (map.empty()) return nullptr;
    usage_[map].looked_up = true;
    scratch_binding_ = {map, false};
    return &scratch_binding_;
  }
  if (const auto* unary = llvm::dyn_cast<clang::UnaryOperator>(e); unary && unary->getOpcode() == clang::UO_AddrOf)
    return rooted(unary->getSubExpr());
  // An array member decays to a pointer: `c->comm` in bpf_get_current_comm(c->comm, ...).
  if (llvm::isa<clang::MemberExpr>(e) || llvm::isa<clang::ArraySubscriptExpr>(e)) return is_array(e) ? rooted(e) : nullptr;
  if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) {
    const clang::ValueDecl* decl = ref->getDecl();
    if (auto it = w.bindings.find(decl); it != w.bindings.end()) return it->second.map_handle ? nullptr : &it->second;
    // A global array decays to a pointer to its first element.
    if (file_scope(decl) && is_array(e)) {
      scratch_binding_ = {decl->getName().str(), false};
      return &scratch_binding_;
    }
  }
  return nullptr;
}

void RoleAnalysis::mark_store(const clang::Expr* lvalue, const Walk& w) {
  bool through = false;
  const clang::ValueDecl* root = lvalue_root(lvalue, through);
  if (!root) return;
  if (auto it = w.bindings.find(root); it != w.bindings.end()) {
    if (!it->second.map_handle && through) usage_[it->second.name].written = true;
    return;
  }
  if (file_scope(root)) usage_[root->getName().str()].written = true;
}

void RoleAnalysis::mark_pointer(const clang::Expr* ptr, const Walk& w, bool write, bool buffer) {
  const Binding* b = origin(ptr, w);
  if (!b) return;
  if (write) not_reads_.insert(lvalue_root_ref(ptr));  // a buffer written by a helper
  Usage& u = usage_[b->name];
  if (write) u.written = true;
  if (buffer) u.buffer_use = true;
}

void RoleAnalysis::call(const clang::CallExpr* c, const clang::Stmt* parent, Walk& w) {
  std::string callee = callee_name(c);
  int args = static_cast<int>(c->getNumArgs());
  auto arg = [&](int i) { return c->getArg(static_cast<unsigned>(i)); };
  auto map_at = [&](int i) { return i < args ? resolve_map(arg(i), w) : std::string(); };
  if (callee == "bpf_map_update_elem" || callee == "bpf_map_push_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].updated = true;
  } else if (callee == "bpf_map_delete_elem" || callee == "bpf_map_pop_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].deleted = true;
  } else if (callee == "bpf_map_lookup_elem" || callee == "bpf_map_lookup_percpu_elem" ||
             callee == "bpf_map_peek_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].looked_up = true;
  } else if (is_atomic_builtin(callee) && !callee.starts_with("__atomic_load")) {
    if (args >= 1) mark_pointer(arg(0), w, true, false);
  }
  if (int d = destination_argument(callee); d >= 0 && d < args) mark_pointer(arg(d), w, true, true);
  if (int s = source_argument(callee); s >= 0 && s < args) mark_pointer(arg(s), w, false, true);
  // `seq = __sync_fetch_and_add(&next, 1)` reads `next`.
  if (is_atomic_builtin(callee) && !value_unused(parent) && args >= 1)
    if (const Binding* b = origin(arg(0), w)) usage_[b->name].read = true;

  // A function with a body: walk it with what its parameters are bound to.
  const auto* decl = llvm::dyn_cast_or_null<clang::FunctionDecl>(c->getCalleeDecl());
  const clang::FunctionDecl* def = decl ? decl->getDefinition() : nullptr;
  if (!def || w.depth >= 8) return;
  Walk inner;
  inner.depth = w.depth + 1;
  std::string key = pointer_key(def);
  int params = static_cast<int>(def->getNumParams());
  for (int i = 0; i < std::min(args, params); i++) {
    Binding b;
    if (std::string m = resolve_map(arg(i), w); !m.empty())
      b = {m, true};
    else if (const Binding* p = origin(arg(i), w))
      b = *p;
    else
      continue;
    inner.bindings[def->getParamDecl(static_cast<unsigned>(i))] = b;
    key += "|" + std::to_string(i) + (b.map_handle ? "m:" : "p:") + b.name;
  }
  if (!walked_.insert(key).second) return;
  walk(def->getBody(), nullptr, inner);
}

// `__atomic_fetch_add(&x, 1, order)` and friends are not calls in clang's AST.
void RoleAnalysis::atomic(const clang::AtomicExpr* a, const clang::Stmt* parent, Walk& w) {
  bool load = a->getOp() == clang::AtomicExpr::AO__atomic_load || a->getOp() == clang::AtomicExpr::AO__atomic_load_n ||
              a->getOp() == clang::AtomicExpr::AO__c11_atomic_load;
  if (!load) mark_pointer(a->getPtr(), w, true, false);
  if (!value_unused(parent))
    if (const Binding* b = origin(a->getPtr(), w)) usage_[b->name].read = true;
}

void RoleAnalysis::local_declaration(const clang::VarDecl* var, Walk& w) {
  const clang::Expr* init = var->getInit();
  if (!init || file_scope(var)) return;
  if (std::string m = resolve_map(init, w); !m.empty()) {
    w.bindings[var] = {m, true};
  } else if (const Binding* b = origin(init, w)) {
    w.bindings[var] = *b;
    not_reads_.insert(lvalue_root_ref(init));  // `u64 *p = counts;`
  }
}

void RoleAnalysis::walk(const clang::Stmt* s, const clang::Stmt* parent, Walk& w) {
  if (!s) return;
  if (const auto* decls = llvm::dyn_cast<clang::DeclStmt>(s)) {
    for (const clang::Decl* d : decls->decls()) {
      const auto* var = llvm::dyn_cast<clang::VarDecl>(d);
      if (!var) continue;
      local_declaration(var, w);
      walk(var->getInit(), nullptr, w);
    }
    return;
  }
  const auto* unary = llvm::dyn_cast<clang::UnaryOperator>(s);
  // `&counts[i]`: the address, not a read of the value.
  if (unary && unary->getOpcode() == clang::UO_AddrOf) not_reads_.insert(lvalue_root_ref(unary->getSubExpr()));
  if (const auto* binary = llvm::dyn_cast<clang::BinaryOperator>(s); binary && binary->isAssignmentOp()) {
    const clang::Expr* lhs = skip_noise(binary->getLHS());
    const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(lhs);
    if (ref && !file_scope(ref->getDecl()) && binary->getOpcode() == clang::BO_Assign) {
      const clang::Expr* rhs = binary->getRHS();
      if (std::string m = resolve_map(rhs, w); !m.empty()) {
        w.bindings[ref->getDecl()] = {m, true};
      } else if (const Binding* b = origin(rhs, w)) {
        w.bindings[ref->getDecl()] = *b;
        not_reads_.insert(lvalue_root_ref(rhs));
      }
    } else {
      mark_store(binary->getLHS(), w);
      // The stored-to variable is not read, unless the value of `x += d` is used.
      if (binary->getOpcode() == clang::BO_Assign || value_unused(parent))
        not_reads_.insert(lvalue_root_ref(binary->getLHS()));
    }
  } else if (unary && unary->isIncrementDecrementOp()) {
    mark_store(unary->getSubExpr(), w);
    if (value_unused(parent)) not_reads_.insert(lvalue_root_ref(unary->getSubExpr()));
  } else if (const auto* c = llvm::dyn_cast<clang::CallExpr>(s)) {
    call(c, parent, w);
  } else if (const auto* a = llvm::dyn_cast<clang::AtomicExpr>(s)) {
    atomic(a, parent, w);
  } else if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(s)) {
    const clang::ValueDecl* decl = ref->getDecl();
    if (file_scope(decl)) {
      Usage& u = usage_[decl->getName().str()];
      u.referenced = true;
      if (!not_reads_.count(ref)) u.read = true;
    } else if (auto it = w.bindings.find(decl); it != w.bindings.end()) {
      usage_[it->second.name].referenced = true;
    }
  }
  for (const clang::Stmt* child : s->children()) walk(child, s, w);
}

std::string map_role(const RoleAnalysis::Usage& u) {
  switch (u.map_type) {
    case BPF_MAP_TYPE_RINGBUF:
    case BPF_MAP_TYPE_USER_RINGBUF:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return "events";
    case BPF_MAP_TYPE_STACK_TRACE:
      return "stack_traces";
    case BPF_MAP_TYPE_PROG_ARRAY:
      return "programs";
    case BPF_MAP_TYPE_ARRAY_OF_MAPS:
    case BPF_MAP_TYPE_HASH_OF_MAPS:
      return "maps";
    case BPF_MAP_TYPE_SK_STORAGE:
    case BPF_MAP_TYPE_INODE_STORAGE:
    case BPF_MAP_TYPE_TASK_STORAGE:
    case 32:  // BPF_MAP_TYPE_CGRP_STORAGE (Linux 6.2; newer than this linux/bpf.h)
    case BPF_MAP_TYPE_CGROUP_STORAGE:
    case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
      return "state";
    case -1:
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
      break;
    default:
      return "other";
  }
  if (!u.referenced) return "other";
  if (u.deleted) return "state";
  bool array = u.map_type == BPF_MAP_TYPE_ARRAY || u.map_type == BPF_MAP_TYPE_PERCPU_ARRAY;
  if (array && !u.updated && u.buffer_use) return "scratch";
  if (u.updated || u.written) return "result";
  if (u.looked_up) return "config";
  return "other";
}

std::map<std::string, package::Json> RoleAnalysis::roles() const {
  std::map<std::string, package::Json> out;
  for (const auto& name : declared_) {
    const Usage& u = usage_.at(name);
    package::Json j = package::Json::object();
    bool is_map = u.is_map || u.looked_up || u.updated || u.deleted;
    j["role"] = is_map ? map_role(u) : !u.written ? "option" : u.read ? "state" : "result";
    if (!u.index_names.empty()) j["index_names"] = u.index_names;
    out[name] = std::move(j);
  }
  return out;
}

}  // namespace ecli::compiler
