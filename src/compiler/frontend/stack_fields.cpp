#include "compiler/frontend/stack_fields.hpp"

#include <fmt/format.h>
#include <linux/bpf.h>

#include "compiler/frontend/ast_util.hpp"

namespace ecli::compiler {
using namespace ast;
namespace {

constexpr unsigned long long kUserStack = BPF_F_USER_STACK;   // 1 << 8
constexpr unsigned long long kBuildId = BPF_F_USER_BUILD_ID;  // 1 << 11

// The variable `&stackmap` names.
std::string map_named(const clang::Expr* arg) {
  const clang::ValueDecl* decl = declaration_named(arg);
  // A parameter or local: which map is not known here.
  return decl && file_scope(decl) ? decl->getName().str() : std::string();
}

// The field a buffer expression names: `e->kstack`, `&e->kstack`,
// `e->kstack[0]`, `&e->kstack[0]`; null for anything else.
const clang::FieldDecl* field_named(const clang::Expr* expr) {
  const clang::Expr* e = skip_noise(expr);
  for (int guard = 0; e && guard < 8; guard++) {
    if (const auto* u = llvm::dyn_cast<clang::UnaryOperator>(e); u && u->getOpcode() == clang::UO_AddrOf)
      e = skip_noise(u->getSubExpr());
    else if (const auto* subscript = llvm::dyn_cast<clang::ArraySubscriptExpr>(e))
      e = skip_noise(subscript->getBase());
    else
      break;
  }
  const auto* member = llvm::dyn_cast_or_null<clang::MemberExpr>(e);
  return member ? llvm::dyn_cast<clang::FieldDecl>(member->getMemberDecl()) : nullptr;
}

}  // namespace

// Whether a flags argument has `bit` (named `name`): its value when constant,
// else whether it (or the initializer of the local it names) spells the name.
// A global's value is not known here (user space may set it): false.
bool StackFields::has_flag(const clang::Expr* arg, unsigned long long bit, llvm::StringRef name, int depth) const {
  if (!arg) return false;
  clang::Expr::EvalResult value;
  if (!arg->isValueDependent() && arg->EvaluateAsInt(value, context_)) return value.Val.getInt().getZExtValue() & bit;
  if (spells(context_, arg, name)) return true;
  const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(skip_noise(arg));
  const auto* var = ref ? llvm::dyn_cast<clang::VarDecl>(ref->getDecl()) : nullptr;
  if (depth > 4 || !var || file_scope(var) || llvm::isa<clang::ParmVarDecl>(var)) return false;
  return has_flag(var->getInit(), bit, name, depth + 1);
}

StackFields::Stack StackFields::analyse_call(const clang::CallExpr* call) const {
  Stack s;
  s.where = call;
  std::string callee = callee_name(call);
  unsigned args = call->getNumArgs();
  if (callee == "bpf_get_stackid" && args >= 3) {
    s.kind = "id";
    s.map = map_named(call->getArg(1));
    s.user = has_flag(call->getArg(2), kUserStack, "BPF_F_USER_STACK");
  } else if ((callee == "bpf_get_stack" || callee == "bpf_get_task_stack") && args >= 4) {
    s.kind = "addresses";
    s.buffer = field_named(call->getArg(1));
    s.user = has_flag(call->getArg(3), kUserStack, "BPF_F_USER_STACK");
    s.build_id = has_flag(call->getArg(3), kBuildId, "BPF_F_USER_BUILD_ID");
  }
  return s;
}

// The stack call whose result an expression is: the call itself, either arm
// of `?:`, or a local variable that holds one.
const StackFields::Stack* StackFields::stack_of(const clang::Expr* expr, const Locals& locals, Stack& scratch) const {
  const clang::Expr* e = skip_noise(expr);
  if (const auto* call = llvm::dyn_cast_or_null<clang::CallExpr>(e)) {
    scratch = analyse_call(call);
    return scratch.kind.empty() ? nullptr : &scratch;
  }
  if (const auto* conditional = llvm::dyn_cast_or_null<clang::AbstractConditionalOperator>(e)) {
    if (const Stack* s = stack_of(conditional->getTrueExpr(), locals, scratch)) return s;
    return stack_of(conditional->getFalseExpr(), locals, scratch);
  }
  if (const auto* ref = llvm::dyn_cast_or_null<clang::DeclRefExpr>(e)) {
    auto it = locals.find(ref->getDecl());
    return it == locals.end() ? nullptr : &it->second;
  }
  return nullptr;
}

void StackFields::add_function(const clang::FunctionDecl* function) {
  if (!function->doesThisDeclarationHaveABody() || !in_main_file(context_.getSourceManager(), function->getLocation()))
    return;
  Locals locals;
  walk(function->getBody(), locals);
}

// `{.key.user_stack_id = id}` (or positional): clang's AST has each field's
// value at the field's index, nested structs as nested lists.
void StackFields::initializers(const clang::InitListExpr* list, Locals& locals) {
  const clang::RecordDecl* initialised = list->getType()->getAsRecordDecl();
  if (!initialised) return;
  if (initialised->isUnion()) {
    const clang::FieldDecl* field = list->getInitializedFieldInUnion();
    Stack scratch;
    if (const Stack* s = field && list->getNumInits() == 1 ? stack_of(list->getInit(0), locals, scratch) : nullptr;
        s && s->kind == "id")
      record(field, *s);
    return;
  }
  unsigned i = 0;
  for (const clang::FieldDecl* field : initialised->fields()) {
    if (i >= list->getNumInits()) break;
    Stack scratch;
    if (const Stack* s = stack_of(list->getInit(i++), locals, scratch); s && s->kind == "id") record(field, *s);
  }
}

void StackFields::walk(const clang::Stmt* s, Locals& locals) {
  if (!s) return;
  Stack scratch;
  if (const auto* decls = llvm::dyn_cast<clang::DeclStmt>(s)) {
    for (const clang::Decl* d : decls->decls()) {
      const auto* var = llvm::dyn_cast<clang::VarDecl>(d);
      if (!var || !var->getInit()) continue;
      if (const Stack* found = stack_of(var->getInit(), locals, scratch)) locals[var] = *found;
      walk(var->getInit(), locals);
    }
    return;
  }
  if (const auto* binary = llvm::dyn_cast<clang::BinaryOperator>(s); binary && binary->getOpcode() == clang::BO_Assign) {
    const Stack* found = stack_of(binary->getRHS(), locals, scratch);
    const clang::Expr* lhs = skip_noise(binary->getLHS());
    if (const auto* ref = llvm::dyn_cast<clang::DeclRefExpr>(lhs)) {
      if (found)
        locals[ref->getDecl()] = *found;
      else
        locals.erase(ref->getDecl());  // holds something else now
    } else if (const auto* member = llvm::dyn_cast<clang::MemberExpr>(lhs); member && found) {
      const auto* target = llvm::dyn_cast<clang::FieldDecl>(member->getMemberDecl());
      if (target && found->kind == "id")
        record(target, *found);
      else if (target && found->buffer && field_owner_name(target) == field_owner_name(found->buffer))
        record(found->buffer, *found, target->getName().str());  // the byte count, beside the buffer
    }
  } else if (const auto* call = llvm::dyn_cast<clang::CallExpr>(s)) {
    Stack found = analyse_call(call);
    if (found.kind == "addresses" && found.buffer) record(found.buffer, found);
  } else if (const auto* list = llvm::dyn_cast<clang::InitListExpr>(s)) {
    initializers(list, locals);
  }
  for (const clang::Stmt* child : s->children()) walk(child, locals);
}

void StackFields::record(const clang::FieldDecl* field, const Stack& stack, const std::string& size_field) {
  if (!field) return;
  std::string name = field->getName().str();
  std::string owner = field_owner_name(field);
  std::string where = location(context_.getSourceManager(), stack.where ? stack.where->getBeginLoc() : field->getBeginLoc());
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
    const auto* array = context_.getAsConstantArrayType(field->getType());
    if (!array || context_.getTypeSize(array->getElementType()) != 64) {
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
