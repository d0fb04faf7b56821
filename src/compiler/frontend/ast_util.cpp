#include "compiler/frontend/ast_util.hpp"

#include <clang/Basic/CharInfo.h>
#include <clang/Lex/Lexer.h>

namespace ecli::compiler::ast {
namespace {

// The name BTF gives a record: "struct x" / "union x", the typedef's name
// for an anonymous one behind a typedef, else empty.
std::string btf_record_name(const clang::RecordDecl* record) {
  if (record->getIdentifier()) return (record->isUnion() ? "union " : "struct ") + record->getName().str();
  if (const clang::TypedefNameDecl* typedef_name = record->getTypedefNameForAnonDecl())
    return typedef_name->getName().str();
  return {};
}

}  // namespace

std::string record_name(clang::QualType type) {
  if (type.isNull()) return {};
  if (const auto* pointer = type->getAs<clang::PointerType>()) type = pointer->getPointeeType();
  const auto* record = type->getAsRecordDecl();
  return record ? btf_record_name(record) : std::string();
}

std::string field_owner_name(const clang::FieldDecl* field) {
  const clang::DeclContext* context = field->getDeclContext();
  for (int guard = 0; guard < 16; guard++) {
    const auto* record = llvm::dyn_cast<clang::RecordDecl>(context);
    if (!record) return {};
    if (record->getIdentifier() || record->getTypedefNameForAnonDecl()) return btf_record_name(record);
    context = record->getDeclContext();  // an anonymous inner struct or union: the one around it
  }
  return {};
}

bool spells(const clang::ASTContext& context, const clang::Expr* e, llvm::StringRef name) {
  const clang::SourceManager& sm = context.getSourceManager();
  clang::CharSourceRange range = sm.getExpansionRange(e->getSourceRange());
  llvm::StringRef text = clang::Lexer::getSourceText(range, sm, context.getLangOpts());
  for (size_t at = text.find(name); at != llvm::StringRef::npos; at = text.find(name, at + 1)) {
    bool starts = at == 0 || !clang::isAsciiIdentifierContinue(text[at - 1]);
    size_t end = at + name.size();
    bool ends = end == text.size() || !clang::isAsciiIdentifierContinue(text[end]);
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace ecli::compiler::ast
