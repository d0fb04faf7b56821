#include "compiler/stack_fields.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include "compiler/cursor_util.hpp"

namespace ecli::compiler {
using namespace cursors;
namespace {

constexpr unsigned long long kUserStack = BPF_F_USER_STACK;   // 1 << 8
constexpr unsigned long long kBuildId = BPF_F_USER_BUILD_ID;  // 1 << 11

bool spells(CXCursor expr, const char* name) {
  CXTranslationUnit tu = clang_Cursor_getTranslationUnit(expr);
  CXToken* tokens = nullptr;
  unsigned count = 0;
  clang_tokenize(tu, clang_getCursorExtent(expr), &tokens, &count);
  bool found = false;
  for (unsigned i = 0; i < count && !found; i++) {
    CXString s = clang_getTokenSpelling(tu, tokens[i]);
    const char* p = clang_getCString(s);
    found = p && std::string_view(p) == name;
    clang_disposeString(s);
  }
  clang_disposeTokens(tu, tokens, count);
  return found;
}

// Whether a flags argument has `bit` (named `name`): its value when constant,
// else whether it (or the initializer of the local it names) spells the name.
// A global's value is not known here (user space may set it): false.
bool has_flag(CXCursor arg, unsigned long long bit, const char* name, int depth = 0) {
  if (CXEvalResult r = clang_Cursor_Evaluate(arg)) {
    bool known = clang_EvalResult_getKind(r) == CXEval_Int;
    unsigned long long value = known ? clang_EvalResult_getAsUnsigned(r) : 0;
    clang_EvalResult_dispose(r);
    if (known) return value & bit;
  }
  if (spells(arg, name)) return true;
  CXCursor c = skip_noise(arg);
  if (depth > 4 || clang_getCursorKind(c) != CXCursor_DeclRefExpr) return false;
  CXCursor decl = clang_getCursorReferenced(c);
  if (clang_getCursorKind(decl) != CXCursor_VarDecl ||
      clang_getCursorKind(clang_getCursorSemanticParent(decl)) == CXCursor_TranslationUnit)
    return false;
  std::vector<CXCursor> init = expression_children(decl);
  return !init.empty() && has_flag(init.back(), bit, name, depth + 1);
}

// The variable `&stackmap` names.
std::string map_named(CXCursor arg) {
  CXCursor decl = declaration_named(arg);
  if (clang_getCursorKind(decl) != CXCursor_VarDecl ||
      clang_getCursorKind(clang_getCursorSemanticParent(decl)) != CXCursor_TranslationUnit)
    return {};  // a parameter or local: which map is not known here
  return spelling(decl);
}

// The field declaration a buffer expression names: `e->kstack`, `&e->kstack`,
// `e->kstack[0]`, `&e->kstack[0]`; null for anything else.
CXCursor field_named(CXCursor expr) {
  CXCursor c = skip_noise(expr);
  for (int guard = 0; guard < 8; guard++) {
    CXCursorKind kind = clang_getCursorKind(c);
    bool address = kind == CXCursor_UnaryOperator && clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_AddrOf;
    if (!address && kind != CXCursor_ArraySubscriptExpr) break;
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) break;
    c = skip_noise(inner.front());
  }
  if (clang_getCursorKind(c) != CXCursor_MemberRefExpr) return clang_getNullCursor();
  CXCursor field = clang_getCursorReferenced(c);
  return clang_getCursorKind(field) == CXCursor_FieldDecl ? field : clang_getNullCursor();
}

StackFields::Stack analyse_call(CXCursor call) {
  StackFields::Stack s;
  s.where = call;
  s.buffer = clang_getNullCursor();
  std::string callee = spelling(call);
  int args = clang_Cursor_getNumArguments(call);
  if (callee == "bpf_get_stackid" && args >= 3) {
    s.kind = "id";
    s.map = map_named(clang_Cursor_getArgument(call, 1));
    s.user = has_flag(clang_Cursor_getArgument(call, 2), kUserStack, "BPF_F_USER_STACK");
  } else if ((callee == "bpf_get_stack" || callee == "bpf_get_task_stack") && args >= 4) {
    s.kind = "addresses";
    s.buffer = field_named(clang_Cursor_getArgument(call, 1));
    CXCursor flags = clang_Cursor_getArgument(call, 3);
    s.user = has_flag(flags, kUserStack, "BPF_F_USER_STACK");
    s.build_id = has_flag(flags, kBuildId, "BPF_F_USER_BUILD_ID");
  }
  return s;
}

// The stack call whose result an expression is: the call itself, either arm
// of `?:`, or a local variable that holds one.
const StackFields::Stack* stack_of(CXCursor expr, const std::map<unsigned, StackFields::Stack>& locals,
                                   StackFields::Stack& scratch) {
  CXCursor c = skip_noise(expr);
  switch (clang_getCursorKind(c)) {
    case CXCursor_CallExpr:
      scratch = analyse_call(c);
      return scratch.kind.empty() ? nullptr : &scratch;
    case CXCursor_ConditionalOperator: {
      std::vector<CXCursor> parts = expression_children(c);
      for (size_t i = 1; i < parts.size(); i++)
        if (const StackFields::Stack* s = stack_of(parts[i], locals, scratch)) return s;
      return nullptr;
    }
    case CXCursor_DeclRefExpr: {
      auto it = locals.find(clang_hashCursor(clang_getCursorReferenced(c)));
      return it == locals.end() ? nullptr : &it->second;
    }
    default:
      return nullptr;
  }
}

// `.field = value` (or `.key.field = value`) of a designated initializer: the
// field and the value.
bool designated(CXCursor init, CXCursor& field, CXCursor& value) {
  std::vector<CXCursor> parts = children(init);
  if (parts.size() < 2) return false;
  for (size_t i = 0; i + 1 < parts.size(); i++)
    if (clang_getCursorKind(parts[i]) != CXCursor_MemberRef) return false;
  field = clang_getCursorReferenced(parts[parts.size() - 2]);
  value = parts.back();
  return clang_getCursorKind(field) == CXCursor_FieldDecl;
}

}  // namespace

void StackFields::add_function(CXCursor function) {
  if (clang_getCursorKind(function) != CXCursor_FunctionDecl || !clang_isCursorDefinition(function)) return;
  if (!in_file(function, main_file_)) return;
  std::map<unsigned, Stack> locals;
  walk(function, locals);
}

void StackFields::walk(CXCursor c, std::map<unsigned, Stack>& locals) {
  struct Context {
    StackFields* self;
    std::map<unsigned, Stack>* locals;
  } context{this, &locals};
  clang_visitChildren(
      c,
      [](CXCursor cursor, CXCursor, CXClientData data) {
        auto* ctx = static_cast<Context*>(data);
        StackFields& self = *ctx->self;
        auto& locals = *ctx->locals;
        Stack scratch;
        CXCursorKind kind = clang_getCursorKind(cursor);
        if (kind == CXCursor_VarDecl) {
          std::vector<CXCursor> init = expression_children(cursor);
          if (!init.empty())
            if (const Stack* s = stack_of(init.back(), locals, scratch)) locals[clang_hashCursor(cursor)] = *s;
        } else if (kind == CXCursor_BinaryOperator &&
                   clang_getCursorBinaryOperatorKind(cursor) == CXBinaryOperator_Assign) {
          std::vector<CXCursor> sides = expression_children(cursor);
          const Stack* s = sides.size() == 2 ? stack_of(sides[1], locals, scratch) : nullptr;
          CXCursor lhs = sides.size() == 2 ? skip_noise(sides[0]) : clang_getNullCursor();
          if (clang_getCursorKind(lhs) == CXCursor_DeclRefExpr) {
            unsigned local = clang_hashCursor(clang_getCursorReferenced(lhs));
            if (s) locals[local] = *s;
            else locals.erase(local);  // holds something else now
          } else if (s && clang_getCursorKind(lhs) == CXCursor_MemberRefExpr) {
            CXCursor target = clang_getCursorReferenced(lhs);
            if (s->kind == "id")
              self.record(target, *s);
            else if (!clang_Cursor_isNull(s->buffer) && field_owner_name(target) == field_owner_name(s->buffer))
              self.record(s->buffer, *s, spelling(target));  // the byte count, beside the buffer
          }
        } else if (kind == CXCursor_CallExpr) {
          Stack s = analyse_call(cursor);
          if (s.kind == "addresses" && !clang_Cursor_isNull(s.buffer)) self.record(s.buffer, s);
        } else if (kind == CXCursor_InitListExpr) {
          for (CXCursor init : children(cursor)) {
            CXCursor field, value;
            if (!designated(init, field, value)) continue;
            if (const Stack* s = stack_of(value, locals, scratch); s && s->kind == "id") self.record(field, *s);
          }
        }
        self.walk(cursor, locals);
        return CXChildVisit_Continue;
      },
      &context);
}

void StackFields::record(CXCursor field, const Stack& stack, const std::string& size_field) {
  if (clang_getCursorKind(field) != CXCursor_FieldDecl) return;
  std::string name = spelling(field);
  std::string owner = field_owner_name(field);
  std::string where = location(stack.where);
  if (owner.empty()) {
    warnings_.push_back(fmt::format("{}: warning: field '{}' holds a stack but is not in a named struct; ecli will "
                                    "not show it as a stack",
                                    where, name));
    return;
  }
  if (stack.kind == "id" && stack.map.empty()) {
    warnings_.push_back(fmt::format("{}: warning: the stack trace map of field '{}' is not a global named here "
                                    "(`bpf_get_stackid(ctx, &map, flags)`); ecli will not show it as a stack",
                                    where, name));
    return;
  }
  if (stack.kind == "addresses") {
    CXType type = clang_getCanonicalType(clang_getCursorType(field));
    if (type.kind != CXType_ConstantArray || clang_Type_getSizeOf(clang_getArrayElementType(type)) != 8) {
      warnings_.push_back(fmt::format("{}: warning: field '{}' is filled by a stack helper but is not an array of "
                                      "__u64; ecli will not show it as a stack",
                                      where, name));
      return;
    }
  }
  auto [it, inserted] = fields_[owner].try_emplace(name, Field{stack, size_field});
  Field& f = it->second;
  if (inserted) return;
  if (f.stack.kind != stack.kind || f.stack.map != stack.map || f.stack.user != stack.user) {
    warnings_.push_back(fmt::format("{}: warning: field '{}' of {} holds different stacks ({} {}, {} {}); ecli "
                                    "shows it as the first",
                                    where, name, owner, f.stack.user ? "user" : "kernel", f.stack.kind,
                                    stack.user ? "user" : "kernel", stack.kind));
    return;
  }
  f.stack.build_id = f.stack.build_id || stack.build_id;
  if (f.size_field.empty()) f.size_field = size_field;
}

package::Json StackFields::result() const {
  package::Json out = package::Json::object();
  for (const auto& [owner, fields] : fields_) {
    package::Json& o = out[owner];
    for (const auto& [name, f] : fields) {
      package::Json j = {{"kind", f.stack.kind}};
      if (f.stack.kind == "id") j["map"] = f.stack.map;
      j["user"] = f.stack.user;
      if (!f.size_field.empty()) j["size_field"] = f.size_field;
      if (f.stack.build_id) j["build_id"] = true;
      o[name] = std::move(j);
    }
  }
  return out;
}

}  // namespace ecli::compiler
