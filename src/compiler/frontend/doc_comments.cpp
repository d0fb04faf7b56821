#include "compiler/frontend/doc_comments.hpp"

#include <clang/AST/RawCommentList.h>
#include <clang/AST/Stmt.h>
#include <clang/Basic/FileManager.h>
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "compiler/annotations.hpp"
#include "compiler/frontend/ast_util.hpp"
#include "compiler/frontend/map_roles.hpp"
#include "compiler/frontend/stack_fields.hpp"

namespace ecli::compiler {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

class Reader {
 public:
  Reader(clang::ASTContext& context, SourceDocs& docs) : context_(context), sm_(context.getSourceManager()), docs_(docs) {
    llvm::StringRef text = sm_.getBufferData(sm_.getMainFileID());
    for (size_t pos = 0; pos <= text.size();) {
      size_t nl = text.find('\n', pos);
      lines_.push_back(text.substr(pos, nl == llvm::StringRef::npos ? llvm::StringRef::npos : nl - pos).str());
      pos = nl == llvm::StringRef::npos ? text.size() + 1 : nl + 1;
    }
  }

  std::string where(clang::SourceLocation loc) const { return ast::location(sm_, loc); }

  // The doc comment of a declaration: the one clang attaches, else the lines
  // above where it starts. For `struct {...} name SEC(".maps");` clang
  // attaches the comment above `struct {` to the anonymous struct.
  std::string comment(const clang::Decl* decl) const {
    const clang::RawComment* raw = context_.getRawCommentForAnyRedecl(decl);
    if (!raw) {
      if (const auto* var = llvm::dyn_cast<clang::VarDecl>(decl)) {
        const clang::RecordDecl* record = var->getType()->getAsRecordDecl();
        if (record && !record->getIdentifier() && !record->getTypedefNameForAnonDecl())
          raw = context_.getRawCommentForAnyRedecl(record);
      }
    }
    if (raw) return raw->getRawText(sm_).str();
    return doc_comment_above(lines_, ast::expansion_line(sm_, decl->getBeginLoc()));
  }

  void top_level(const clang::NamedDecl* decl) {
    std::string name = decl->getName().str();
    if (const auto* var = llvm::dyn_cast<clang::VarDecl>(decl)) {
      // `const int x = 0;` in .rodata is folded by clang: the option would do nothing.
      clang::QualType type = var->getType();
      if (type.isConstQualified() && !type.isVolatileQualified() && var->hasExternalFormalLinkage() &&
          !type->isArrayType())
        docs_.warnings.push_back(fmt::format(
            "{}: warning: global '{}' is const but not volatile, so clang may fold its value and the generated "
            "option --{} would have no effect; declare it `const volatile`",
            where(var->getBeginLoc()), name, name));
    }
    if (const auto* function = llvm::dyn_cast<clang::FunctionDecl>(decl);
        function && function->doesThisDeclarationHaveABody())
      discover(function->getBody(), {});
    std::string raw = comment(decl);
    if (raw.empty()) return;
    package::Json annotations = parse_doc_comment(raw);
    annotations["__location"] = where(decl->getBeginLoc());
    (llvm::isa<clang::VarDecl>(decl) ? docs_.variables : docs_.functions)[name] = std::move(annotations);
  }

  // `/// @format KIND` on the fields of the main file's structs: type name ->
  // field -> kind (the runtime's output/value_format.hpp checks the kind). A
  // field of an anonymous struct or union counts as one of the named struct
  // around it, as the printed plan shows it.
  void record(const clang::RecordDecl* record) {
    if (!record->isThisDeclarationADefinition() || !records_.insert(record).second) return;
    for (const clang::Decl* member : record->decls()) {
      if (const auto* inner = llvm::dyn_cast<clang::RecordDecl>(member)) this->record(inner);
      const auto* field = llvm::dyn_cast<clang::FieldDecl>(member);
      if (!field) continue;
      std::string raw = comment(field);
      if (raw.find("@format") == std::string::npos) continue;
      package::Json annotations = parse_doc_comment(raw);
      if (!annotations.contains("format")) continue;
      const package::Json& kind = annotations["format"];
      if (!kind.is_string()) {
        docs_.warnings.push_back(where(field->getBeginLoc()) + ": warning: @format takes a kind such as ip or errno");
        continue;
      }
      std::string type = ast::field_owner_name(field);
      if (type.empty()) {
        docs_.warnings.push_back(where(field->getBeginLoc()) +
                                 ": warning: @format is read on fields of named structs only");
        continue;
      }
      docs_.field_formats[type][field->getName().str()] = kind.get<std::string>();
    }
  }

 private:
  void event_type(const std::string& map, const std::string& type, const clang::Expr* call) {
    if (map.empty() || type.empty()) return;
    auto [it, inserted] = docs_.event_types.emplace(map, type);
    if (!inserted && it->second != type)
      docs_.warnings.push_back(fmt::format("{}: warning: map '{}' is sent both {} and {}; events are decoded as {}",
                                           where(call->getBeginLoc()), map, it->second, type, it->second));
  }

  static std::string map_name(const clang::Expr* arg) {
    const clang::ValueDecl* decl = ast::declaration_named(arg);
    return decl && decl->getIdentifier() ? decl->getName().str() : std::string();
  }

  // The type of the value a data argument points at (through casts to void *).
  static std::string sent_type(const clang::Expr* e) {
    for (int guard = 0; e && guard < 16; guard++) {
      if (std::string name = ast::record_name(e->getType()); !name.empty()) return name;
      if (const auto* cast = llvm::dyn_cast<clang::CastExpr>(e)) e = cast->getSubExpr();
      else if (const auto* paren = llvm::dyn_cast<clang::ParenExpr>(e)) e = paren->getSubExpr();
      else if (const auto* unary = llvm::dyn_cast<clang::UnaryOperator>(e)) e = unary->getSubExpr();
      else break;
    }
    return {};
  }

  // Which struct each ring buffer or perf event array carries, from the calls
  // that send to it. `context` is the type being initialised or assigned (a
  // reservation's pointer).
  void discover(const clang::Stmt* s, clang::QualType context) {
    if (!s) return;
    if (const auto* decls = llvm::dyn_cast<clang::DeclStmt>(s)) {
      for (const clang::Decl* d : decls->decls()) {
        if (const auto* var = llvm::dyn_cast<clang::VarDecl>(d)) discover(var->getInit(), var->getType());
        if (const auto* local = llvm::dyn_cast<clang::RecordDecl>(d)) record(local);  // a struct of a function
      }
      return;
    }
    if (const auto* binary = llvm::dyn_cast<clang::BinaryOperator>(s)) context = binary->getLHS()->getType();
    if (const auto* call = llvm::dyn_cast<clang::CallExpr>(s)) {
      std::string callee = ast::callee_name(call);
      unsigned args = call->getNumArgs();
      if (callee == "bpf_ringbuf_reserve" && args >= 1)
        event_type(map_name(call->getArg(0)), ast::record_name(context), call);
      else if (callee == "bpf_ringbuf_output" && args >= 2)
        event_type(map_name(call->getArg(0)), sent_type(call->getArg(1)), call);
      else if (callee == "bpf_perf_event_output" && args >= 4)
        event_type(map_name(call->getArg(1)), sent_type(call->getArg(3)), call);
    }
    for (const clang::Stmt* child : s->children()) discover(child, context);
  }

  clang::ASTContext& context_;
  const clang::SourceManager& sm_;
  SourceDocs& docs_;
  std::vector<std::string> lines_;  // the main file, for doc_comment_above
  std::set<const clang::RecordDecl*> records_;
};

// A named struct defined in `file` by `decl`, and those nested in it.
void header_structs(const clang::SourceManager& sm, clang::FileID file, const clang::Decl* decl,
                    std::vector<std::string>& out) {
  const auto* record = llvm::dyn_cast<clang::RecordDecl>(decl);
  if (!record || !record->isThisDeclarationADefinition()) return;
  if (sm.getFileID(sm.getExpansionLoc(record->getLocation())) != file) return;
  if (record->isStruct() && record->getIdentifier()) {
    std::string name = record->getName().str();
    if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
  }
  for (const clang::Decl* inner : record->decls()) header_structs(sm, file, inner, out);
}

}  // namespace

std::string doc_comment_above(const std::vector<std::string>& lines, unsigned line) {
  if (line < 2 || line - 1 > lines.size()) return {};
  int i = static_cast<int>(line) - 2;
  // The declaration's extent may start after its SEC("...") line.
  while (i > 0 && trim(lines[i]).starts_with("SEC(")) i--;
  std::vector<std::string> block;
  if (trim(lines[i]).starts_with("///")) {
    while (i >= 0 && trim(lines[i]).starts_with("///")) block.insert(block.begin(), lines[i--]);
  } else if (trim(lines[i]).ends_with("*/")) {
    while (i >= 0) {
      block.insert(block.begin(), lines[i]);
      if (trim(lines[i]).starts_with("/**")) break;
      if (trim(lines[i]).starts_with("/*") || i == 0) return {};  // a plain comment, not a doc comment
      i--;
    }
  }
  std::string out;
  for (auto& l : block) out += l + "\n";
  return out;
}

SourceDocs collect_docs(clang::ASTContext& context, const std::vector<clang::Decl*>& top_level,
                        const std::vector<std::string>& headers) {
  SourceDocs docs;
  const clang::SourceManager& sm = context.getSourceManager();
  Reader reader(context, docs);
  RoleAnalysis roles(context);
  StackFields stacks(context);
  std::set<const clang::Decl*> seen;
  for (clang::Decl* decl : top_level) {
    if (!ast::in_main_file(sm, decl->getLocation()) || !seen.insert(decl).second) continue;
    if (const auto* record = llvm::dyn_cast<clang::RecordDecl>(decl)) reader.record(record);
    if (const auto* var = llvm::dyn_cast<clang::VarDecl>(decl); var && ast::file_scope(var)) {
      reader.top_level(var);
      roles.add_declaration(var);
    }
    if (const auto* function = llvm::dyn_cast<clang::FunctionDecl>(decl)) {
      reader.top_level(function);
      roles.add_function(function);
      stacks.add_function(function);
    }
  }
  docs.roles = roles.roles();
  docs.stack_fields = stacks.result();
  docs.warnings.insert(docs.warnings.end(), stacks.warnings().begin(), stacks.warnings().end());

  clang::FileManager& files = sm.getFileManager();
  for (const auto& header : headers) {
    clang::FileID file;
    if (auto entry = files.getOptionalFileRef(header)) file = sm.translateFile(*entry);
    if (file.isInvalid()) {
      docs.warnings.push_back("warning: " + header + " is not included by the source; its structs are not exported");
      continue;
    }
    // A header's structs are among the parser's top-level declarations, not the PCH's.
    for (const clang::Decl* decl : top_level) header_structs(sm, file, decl, docs.header_structs);
  }
  return docs;
}

}  // namespace ecli::compiler
