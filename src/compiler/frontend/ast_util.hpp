#pragma once
// Small helpers over clang's AST shared by the source analyses of the
// embedded compiler (doc_comments.cpp, map_roles.cpp, stack_fields.cpp).
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/Basic/SourceManager.h>

#include <string>
#include <vector>

namespace ecli::compiler::ast {

// Through parentheses and casts (implicit or written) to the expression inside.
inline const clang::Expr* skip_noise(const clang::Expr* e) {
  return e ? e->IgnoreParenCasts() : nullptr;
}

// The name of what a call calls: the function, or the helper's function
// pointer (`static long (*bpf_map_update_elem)(...) = (void *) 2;`).
inline std::string callee_name(const clang::CallExpr* call) {
  const auto* named = llvm::dyn_cast_or_null<clang::NamedDecl>(call->getCalleeDecl());
  return named && named->getIdentifier() ? named->getName().str() : std::string();
}

// A variable declared at file scope (a map or a global).
inline bool file_scope(const clang::Decl* d) {
  const auto* var = llvm::dyn_cast_or_null<clang::VarDecl>(d);
  return var && var->getDeclContext()->getRedeclContext()->isTranslationUnit() && !llvm::isa<clang::ParmVarDecl>(var);
}

// The declaration `x` or `&x` names (through casts and parentheses): the map
// argument of a helper. Null for anything else.
inline const clang::ValueDecl* declaration_named(const clang::Expr* arg) {
  const clang::Expr* e = skip_noise(arg);
  if (const auto* u = llvm::dyn_cast_or_null<clang::UnaryOperator>(e); u && u->getOpcode() == clang::UO_AddrOf)
    e = skip_noise(u->getSubExpr());
  const auto* ref = llvm::dyn_cast_or_null<clang::DeclRefExpr>(e);
  return ref ? ref->getDecl() : nullptr;
}

// Declared in the main file, also when a macro of the main file wrote it.
inline bool in_main_file(const clang::SourceManager& sm, clang::SourceLocation loc) {
  return loc.isValid() && sm.isWrittenInMainFile(sm.getExpansionLoc(loc));
}

// The line (1-based) a location expands at.
inline unsigned expansion_line(const clang::SourceManager& sm, clang::SourceLocation loc) {
  return loc.isValid() ? sm.getExpansionLineNumber(loc) : 0;
}

// "file:line" where a declaration or expression starts (`struct {` of a map, not its name).
inline std::string location(const clang::SourceManager& sm, clang::SourceLocation begin) {
  if (begin.isInvalid()) return ":0";
  clang::SourceLocation at = sm.getExpansionLoc(begin);
  return sm.getFilename(at).str() + ":" + std::to_string(sm.getExpansionLineNumber(at));
}

// "struct event" for a `struct event *` or `struct event`, the typedef's name
// for an anonymous struct behind one; empty for void * and scalars.
std::string record_name(clang::QualType type);

// The name the field formats and stack fields give the struct a field
// belongs to: "struct key_t", "union u", the typedef's name for an anonymous
// struct behind a typedef (as BTF names it); a field of an anonymous inner
// struct or union counts as one of the named struct around it. Empty when
// there is none.
std::string field_owner_name(const clang::FieldDecl* field);

// Whether the source text of `e` (where it is written, macros unexpanded)
// has the identifier `name`.
bool spells(const clang::ASTContext& context, const clang::Expr* e, llvm::StringRef name);

}  // namespace ecli::compiler::ast
