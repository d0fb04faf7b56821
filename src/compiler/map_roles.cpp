#include "compiler/map_roles.hpp"

#include "compiler/cursor_util.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <cstring>
#include <string_view>

namespace ecli::compiler {
using namespace cursors;
namespace {

bool is_pointer(CXCursor expr) {
  return clang_getCanonicalType(clang_getCursorType(expr)).kind == CXType_Pointer;
}

// The DeclRefExpr an lvalue is rooted at (`counts[cpu]` -> `counts`), or null.
CXCursor lvalue_root_ref(CXCursor c) {
  for (int guard = 0; guard < 32; guard++) {
    c = skip_noise(c);
    CXCursorKind kind = clang_getCursorKind(c);
    if (kind == CXCursor_DeclRefExpr) return c;
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) break;
    if (kind == CXCursor_MemberRefExpr || kind == CXCursor_ArraySubscriptExpr ||
        (kind == CXCursor_UnaryOperator && clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_Deref))
      c = inner.front();
    else
      break;
  }
  return clang_getNullCursor();
}

// Whether the value of an expression is thrown away (`x++;` as a statement).
bool value_unused(CXCursor parent) {
  CXCursorKind kind = clang_getCursorKind(parent);
  return kind == CXCursor_CompoundStmt || kind == CXCursor_LabelStmt || kind == CXCursor_CaseStmt ||
         kind == CXCursor_DefaultStmt;
}

// The declaration an lvalue is part of (`v->slots[i]` -> v, `counts[cpu]` ->
// counts), and whether the way there went through a pointer.
CXCursor lvalue_root(CXCursor c, bool& through_pointer) {
  for (int guard = 0; guard < 32; guard++) {
    c = skip_noise(c);
    CXCursorKind kind = clang_getCursorKind(c);
    if (kind == CXCursor_DeclRefExpr) return clang_getCursorReferenced(c);
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) break;
    if (kind == CXCursor_MemberRefExpr || kind == CXCursor_ArraySubscriptExpr) {
      CXCursor base = inner.front();
      if (is_pointer(skip_noise(base))) through_pointer = true;
      c = base;
    } else if (kind == CXCursor_UnaryOperator && clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_Deref) {
      through_pointer = true;
      c = inner.front();
    } else {
      break;
    }
  }
  return clang_getNullCursor();
}

long array_size_of_field(CXType record, const char* field) {
  struct Find {
    const char* name;
    long value = -2;  // -2: no such field, -1: not a pointer to an array
  } find{field};
  clang_Type_visitFields(
      record,
      [](CXCursor f, CXClientData data) {
        auto* find = static_cast<Find*>(data);
        if (spelling(f) != find->name) return CXVisit_Continue;
        CXType t = clang_getCanonicalType(clang_getCursorType(f));
        find->value = -1;
        if (t.kind == CXType_Pointer) {
          CXType pointee = clang_getCanonicalType(clang_getPointeeType(t));
          if (pointee.kind == CXType_ConstantArray) find->value = static_cast<long>(clang_getArraySize(pointee));
        }
        return CXVisit_Break;
      },
      &find);
  return find.value;
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

}  // namespace

bool RoleAnalysis::file_scope(CXCursor decl) const {
  if (clang_getCursorKind(decl) != CXCursor_VarDecl) return false;
  return clang_getCursorKind(clang_getCursorSemanticParent(decl)) == CXCursor_TranslationUnit;
}

void RoleAnalysis::add_declaration(CXCursor var) {
  if (clang_getCursorKind(var) != CXCursor_VarDecl || !file_scope(var)) return;
  CXFile file = nullptr;
  clang_getExpansionLocation(clang_getCursorLocation(var), &file, nullptr, nullptr, nullptr);
  if (!file || !clang_File_isEqual(file, main_file_)) return;
  std::string name = spelling(var);
  if (!declared_.insert(name).second) return;
  Usage& u = usage_[name];
  CXType type = clang_getCanonicalType(clang_getCursorType(var));
  if (type.kind == CXType_Record) {
    // A BTF-defined map: `__uint(type, BPF_MAP_TYPE_HASH)` is `int (*type)[1]`.
    long map_type = array_size_of_field(type, "type");
    u.is_map = map_type != -2;
    u.map_type = std::max(map_type, -1L);
  }
  if (type.kind != CXType_ConstantArray) return;
  // `counts[NR_SOFTIRQS]`: the length is written as an enumerator.
  long long length = clang_getArraySize(type);
  for (CXCursor child : children(var)) {
    if (clang_getCursorKind(child) != CXCursor_DeclRefExpr) continue;
    CXCursor constant = clang_getCursorReferenced(child);
    if (clang_getCursorKind(constant) != CXCursor_EnumConstantDecl ||
        clang_getEnumConstantDeclValue(constant) != length)
      continue;
    std::vector<std::string> names(static_cast<size_t>(std::clamp(length, 0LL, 4096LL)));
    for (CXCursor e : children(clang_getCursorSemanticParent(constant))) {
      if (clang_getCursorKind(e) != CXCursor_EnumConstantDecl) continue;
      long long value = clang_getEnumConstantDeclValue(e);
      if (value >= 0 && value < static_cast<long long>(names.size()) && names[value].empty())
        names[value] = spelling(e);
    }
    for (size_t i = 0; i < names.size(); i++)
      if (names[i].empty()) names[i] = std::to_string(i);
    u.index_names = std::move(names);
    break;
  }
}

void RoleAnalysis::add_function(CXCursor function) {
  if (clang_getCursorKind(function) != CXCursor_FunctionDecl || !clang_isCursorDefinition(function)) return;
  CXFile file = nullptr;
  clang_getExpansionLocation(clang_getCursorLocation(function), &file, nullptr, nullptr, nullptr);
  if (!file || !clang_File_isEqual(file, main_file_)) return;
  Walk w;
  std::string key = std::to_string(clang_hashCursor(function));
  if (!walked_.insert(key).second) return;
  walk(function, w);
}

std::string RoleAnalysis::resolve_map(CXCursor arg, const Walk& w) {
  CXCursor decl = declaration_named(arg);
  if (clang_Cursor_isNull(decl)) return {};
  if (auto it = w.bindings.find(clang_hashCursor(decl)); it != w.bindings.end())
    return it->second.map_handle ? it->second.name : std::string();
  if (!file_scope(decl)) return {};
  CXType type = clang_getCanonicalType(clang_getCursorType(decl));
  return type.kind == CXType_Record ? spelling(decl) : std::string();
}

// What a pointer expression points into: a map's value or a global.
const RoleAnalysis::Binding* RoleAnalysis::origin(CXCursor expr, const Walk& w) {
  CXCursor c = skip_noise(expr);
  CXCursorKind kind = clang_getCursorKind(c);
  if (kind == CXCursor_CallExpr) {
    std::string callee = spelling(c);
    if (callee.find("lookup") == std::string::npos || clang_Cursor_getNumArguments(c) < 1) return nullptr;
    std::string map = resolve_map(clang_Cursor_getArgument(c, 0), w);
    if (map.empty()) return nullptr;
    usage_[map].looked_up = true;
    scratch_binding_ = {map, false};
    return &scratch_binding_;
  }
  if (kind == CXCursor_UnaryOperator && clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_AddrOf) {
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) return nullptr;
    bool through = false;
    CXCursor root = lvalue_root(inner.front(), through);
    if (clang_Cursor_isNull(root)) return nullptr;
    if (auto it = w.bindings.find(clang_hashCursor(root)); it != w.bindings.end())
      return it->second.map_handle ? nullptr : &it->second;
    if (!file_scope(root) || through) return nullptr;
    scratch_binding_ = {spelling(root), false};
    return &scratch_binding_;
  }
  if (kind == CXCursor_MemberRefExpr || kind == CXCursor_ArraySubscriptExpr) {
    // An array member decays to a pointer: `c->comm` in bpf_get_current_comm(c->comm, ...).
    if (clang_getCanonicalType(clang_getCursorType(c)).kind != CXType_ConstantArray) return nullptr;
    bool through = false;
    CXCursor root = lvalue_root(c, through);
    if (clang_Cursor_isNull(root)) return nullptr;
    if (auto it = w.bindings.find(clang_hashCursor(root)); it != w.bindings.end())
      return it->second.map_handle ? nullptr : &it->second;
    if (!file_scope(root) || through) return nullptr;
    scratch_binding_ = {spelling(root), false};
    return &scratch_binding_;
  }
  if (kind == CXCursor_DeclRefExpr) {
    CXCursor decl = clang_getCursorReferenced(c);
    if (auto it = w.bindings.find(clang_hashCursor(decl)); it != w.bindings.end())
      return it->second.map_handle ? nullptr : &it->second;
    // A global array decays to a pointer to its first element.
    if (file_scope(decl) && clang_getCanonicalType(clang_getCursorType(decl)).kind == CXType_ConstantArray) {
      scratch_binding_ = {spelling(decl), false};
      return &scratch_binding_;
    }
  }
  return nullptr;
}

void RoleAnalysis::mark_store(CXCursor lvalue, const Walk& w) {
  bool through = false;
  CXCursor root = lvalue_root(lvalue, through);
  if (clang_Cursor_isNull(root)) return;
  if (auto it = w.bindings.find(clang_hashCursor(root)); it != w.bindings.end()) {
    if (!it->second.map_handle && through) usage_[it->second.name].written = true;
    return;
  }
  if (file_scope(root)) usage_[spelling(root)].written = true;
}

void RoleAnalysis::mark_pointer(CXCursor ptr, const Walk& w, bool write, bool buffer) {
  const Binding* b = origin(ptr, w);
  if (!b) return;
  if (write) not_reads_.insert(clang_hashCursor(lvalue_root_ref(ptr)));  // a buffer written by a helper
  Usage& u = usage_[b->name];
  if (write) u.written = true;
  if (buffer) u.buffer_use = true;
}

void RoleAnalysis::call(CXCursor c, Walk& w) {
  std::string callee = spelling(c);
  int args = clang_Cursor_getNumArguments(c);
  auto arg = [&](int i) { return clang_Cursor_getArgument(c, i); };
  auto map_at = [&](int i) { return i < args ? resolve_map(arg(i), w) : std::string(); };
  if (callee == "bpf_map_update_elem" || callee == "bpf_map_push_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].updated = true;
  } else if (callee == "bpf_map_delete_elem" || callee == "bpf_map_pop_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].deleted = true;
  } else if (callee == "bpf_map_lookup_elem" || callee == "bpf_map_lookup_percpu_elem" ||
             callee == "bpf_map_peek_elem") {
    if (auto m = map_at(0); !m.empty()) usage_[m].looked_up = true;
  } else if (callee.starts_with("__sync_") || (callee.starts_with("__atomic_") && !callee.starts_with("__atomic_load"))) {
    if (args >= 1) mark_pointer(arg(0), w, true, false);
  }
  if (int d = destination_argument(callee); d >= 0 && d < args) mark_pointer(arg(d), w, true, true);
  if (int s = source_argument(callee); s >= 0 && s < args) mark_pointer(arg(s), w, false, true);

  // A function with a body: walk it with what its parameters are bound to.
  CXCursor decl = clang_getCursorReferenced(c);
  if (clang_getCursorKind(decl) != CXCursor_FunctionDecl || w.depth >= 8) return;
  CXCursor def = clang_getCursorDefinition(decl);
  if (clang_Cursor_isNull(def)) return;
  Walk inner;
  inner.depth = w.depth + 1;
  std::string key = std::to_string(clang_hashCursor(def));
  int params = clang_Cursor_getNumArguments(def);
  for (int i = 0; i < std::min(args, params); i++) {
    Binding b;
    if (std::string m = resolve_map(arg(i), w); !m.empty())
      b = {m, true};
    else if (const Binding* p = origin(arg(i), w))
      b = *p;
    else
      continue;
    inner.bindings[clang_hashCursor(clang_Cursor_getArgument(def, i))] = b;
    key += "|" + std::to_string(i) + (b.map_handle ? "m:" : "p:") + b.name;
  }
  if (!walked_.insert(key).second) return;
  walk(def, inner);
}

void RoleAnalysis::walk(CXCursor c, Walk& w) {
  struct Context {
    RoleAnalysis* self;
    Walk* w;
  } context{this, &w};
  clang_visitChildren(
      c,
      [](CXCursor cursor, CXCursor parent, CXClientData data) {
        auto* ctx = static_cast<Context*>(data);
        RoleAnalysis& self = *ctx->self;
        Walk& w = *ctx->w;
        CXCursorKind kind = clang_getCursorKind(cursor);
        if (kind == CXCursor_VarDecl && !self.file_scope(cursor)) {
          std::vector<CXCursor> init = expression_children(cursor);
          if (!init.empty()) {
            if (std::string m = self.resolve_map(init.back(), w); !m.empty())
              w.bindings[clang_hashCursor(cursor)] = {m, true};
            else if (const Binding* b = self.origin(init.back(), w)) {
              w.bindings[clang_hashCursor(cursor)] = *b;
              self.not_reads_.insert(clang_hashCursor(lvalue_root_ref(init.back())));  // `u64 *p = counts;`
            }
          }
        } else if (kind == CXCursor_UnaryOperator &&
                   clang_getCursorUnaryOperatorKind(cursor) == CXUnaryOperator_AddrOf) {
          // `&counts[i]`: the address, not a read of the value.
          std::vector<CXCursor> inner = expression_children(cursor);
          if (!inner.empty()) self.not_reads_.insert(clang_hashCursor(lvalue_root_ref(inner.front())));
        }
        if (kind == CXCursor_BinaryOperator || kind == CXCursor_CompoundAssignOperator) {
          CXBinaryOperatorKind op = clang_getCursorBinaryOperatorKind(cursor);
          std::vector<CXCursor> sides = expression_children(cursor);
          if (sides.size() == 2 && op >= CXBinaryOperator_Assign && op <= CXBinaryOperator_OrAssign) {
            CXCursor lhs = skip_noise(sides[0]);
            CXCursor target = clang_getCursorReferenced(lhs);
            bool local = clang_getCursorKind(lhs) == CXCursor_DeclRefExpr && !self.file_scope(target);
            if (local && op == CXBinaryOperator_Assign) {
              if (std::string m = self.resolve_map(sides[1], w); !m.empty())
                w.bindings[clang_hashCursor(target)] = {m, true};
              else if (const Binding* b = self.origin(sides[1], w)) {
                w.bindings[clang_hashCursor(target)] = *b;
                self.not_reads_.insert(clang_hashCursor(lvalue_root_ref(sides[1])));
              }
            } else {
              self.mark_store(sides[0], w);
              // The stored-to variable is not read, unless the value of `x += d` is used.
              if (op == CXBinaryOperator_Assign || value_unused(parent))
                self.not_reads_.insert(clang_hashCursor(lvalue_root_ref(sides[0])));
            }
          }
        } else if (kind == CXCursor_UnaryOperator) {
          CXUnaryOperatorKind op = clang_getCursorUnaryOperatorKind(cursor);
          if (op == CXUnaryOperator_PostInc || op == CXUnaryOperator_PostDec || op == CXUnaryOperator_PreInc ||
              op == CXUnaryOperator_PreDec) {
            std::vector<CXCursor> inner = expression_children(cursor);
            if (!inner.empty()) {
              self.mark_store(inner.front(), w);
              if (value_unused(parent)) self.not_reads_.insert(clang_hashCursor(lvalue_root_ref(inner.front())));
            }
          }
        } else if (kind == CXCursor_CallExpr) {
          self.call(cursor, w);
          // `seq = __sync_fetch_and_add(&next, 1)` reads `next`.
          std::string callee = spelling(cursor);
          if ((callee.starts_with("__sync_") || callee.starts_with("__atomic_")) && !value_unused(parent) &&
              clang_Cursor_getNumArguments(cursor) >= 1)
            if (const Binding* b = self.origin(clang_Cursor_getArgument(cursor, 0), w)) self.usage_[b->name].read = true;
        } else if (kind == CXCursor_DeclRefExpr) {
          CXCursor decl = clang_getCursorReferenced(cursor);
          if (self.file_scope(decl)) {
            Usage& u = self.usage_[spelling(decl)];
            u.referenced = true;
            if (!self.not_reads_.count(clang_hashCursor(cursor))) u.read = true;
          }
          else if (auto it = w.bindings.find(clang_hashCursor(decl)); it != w.bindings.end())
            self.usage_[it->second.name].referenced = true;
        }
        self.walk(cursor, w);
        return CXChildVisit_Continue;
      },
      &context);
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
