#include "compiler/doc_comments.hpp"

#include <clang-c/Index.h>
#include <fmt/format.h>

#include <memory>
#include <set>

#include "compiler/annotations.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::compiler {
namespace {

std::string to_string(CXString s) {
  const char* c = clang_getCString(s);
  std::string out = c ? c : "";
  clang_disposeString(s);
  return out;
}

std::string location_text(CXCursor cursor) {
  CXFile file;
  unsigned line = 0, column = 0;
  clang_getExpansionLocation(clang_getCursorLocation(cursor), &file, &line, &column, nullptr);
  return fmt::format("{}:{}", to_string(clang_getFileName(file)), line);
}

// The comment of a declaration. For `struct {...} name SEC(".maps");` clang
// attaches the comment above `struct {` to the anonymous struct, so look there too.
std::string raw_comment(CXCursor cursor) {
  std::string text = to_string(clang_Cursor_getRawCommentText(cursor));
  if (!text.empty() || clang_getCursorKind(cursor) != CXCursor_VarDecl) return text;
  CXCursor record = clang_getTypeDeclaration(clang_getCursorType(cursor));
  if (clang_Cursor_isNull(record) || !clang_Cursor_isAnonymous(record)) return text;
  return to_string(clang_Cursor_getRawCommentText(record));
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// The `///` lines or `/** */` block that end on the line right above `line`
// (1-based). clang does not attach comments to declarations that come out of
// macros (BPF_KPROBE, BPF_PROG), so for those we look where the parser says the
// declaration starts.
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

struct Visit {
  SourceDocs* docs;
  std::vector<std::string> lines;  // the main file, for doc_comment_above
  CXFile main_file = nullptr;
};

// Declared in the main file, also when a macro of the main file wrote it.
bool in_main_file(CXCursor cursor, CXFile main_file) {
  CXFile file = nullptr;
  clang_getExpansionLocation(clang_getCursorLocation(cursor), &file, nullptr, nullptr, nullptr);
  return file && clang_File_isEqual(file, main_file);
}

CXChildVisitResult visit_top_level(CXCursor cursor, CXCursor, CXClientData data) {
  auto* visit = static_cast<Visit*>(data);
  auto* docs = visit->docs;
  if (!in_main_file(cursor, visit->main_file)) return CXChildVisit_Continue;
  CXCursorKind kind = clang_getCursorKind(cursor);
  if (kind != CXCursor_VarDecl && kind != CXCursor_FunctionDecl) return CXChildVisit_Continue;
  std::string name = to_string(clang_getCursorSpelling(cursor));

  if (kind == CXCursor_VarDecl) {
    // `const int x = 0;` in .rodata is folded by clang: the option would do nothing.
    CXType type = clang_getCursorType(cursor);
    if (clang_isConstQualifiedType(type) && !clang_isVolatileQualifiedType(type) &&
        clang_getCursorLinkage(cursor) == CXLinkage_External && type.kind != CXType_ConstantArray &&
        type.kind != CXType_IncompleteArray)
      docs->warnings.push_back(fmt::format(
          "{}: warning: global '{}' is const but not volatile, so clang may fold its value and the generated "
          "option --{} would have no effect; declare it `const volatile`",
          location_text(cursor), name, name));
  }

  std::string raw = raw_comment(cursor);
  if (raw.empty()) {
    unsigned line = 0;
    clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(cursor)), nullptr, &line, nullptr, nullptr);
    raw = doc_comment_above(visit->lines, line);
  }
  if (raw.empty()) return CXChildVisit_Continue;
  package::Json annotations = parse_doc_comment(raw);
  annotations["__location"] = location_text(cursor);
  (kind == CXCursor_VarDecl ? docs->variables : docs->functions)[name] = std::move(annotations);
  return CXChildVisit_Continue;
}

// A PCH libclang cannot use (another clang version) shows up as a fatal diagnostic.
bool pch_rejected(CXTranslationUnit tu) {
  for (unsigned i = 0; i < clang_getNumDiagnostics(tu); i++) {
    CXDiagnostic d = clang_getDiagnostic(tu, i);
    bool fatal = clang_getDiagnosticSeverity(d) == CXDiagnostic_Fatal;
    std::string text = to_string(clang_getDiagnosticSpelling(d));
    clang_disposeDiagnostic(d);
    if (fatal && (text.find("PCH") != std::string::npos || text.find("precompiled") != std::string::npos))
      return true;
  }
  return false;
}

CXTranslationUnit parse(CXIndex index, const std::string& source, const std::vector<std::string>& clang_args,
                        const std::string& pch) {
  std::vector<const char*> args;
  for (auto& a : clang_args) args.push_back(a.c_str());
  if (!pch.empty()) {
    args.push_back("-include-pch");
    args.push_back(pch.c_str());
  }
  CXTranslationUnit tu = nullptr;
  CXErrorCode rc = clang_parseTranslationUnit2(index, source.c_str(), args.data(), static_cast<int>(args.size()),
                                               nullptr, 0,
                                               CXTranslationUnit_SkipFunctionBodies | CXTranslationUnit_KeepGoing, &tu);
  return rc == CXError_Success ? tu : nullptr;
}

}  // namespace

SourceDocs extract_docs(const std::string& source, const std::vector<std::string>& clang_args,
                        const std::string& pch) {
  SourceDocs docs;
  std::unique_ptr<void, decltype(&clang_disposeIndex)> index(clang_createIndex(0, 0), clang_disposeIndex);
  CXTranslationUnit tu = parse(index.get(), source, clang_args, pch);
  if (tu && !pch.empty() && pch_rejected(tu)) {
    clang_disposeTranslationUnit(tu);
    tu = parse(index.get(), source, clang_args, {});
  }
  if (!tu) throw Error("libclang could not parse " + source);
  Visit visit{&docs, {}, clang_getFile(tu, source.c_str())};
  std::string text = read_file(source);
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    visit.lines.push_back(text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
  }
  // Visiting the translation unit would deserialise every declaration of the
  // vmlinux.h PCH (80 ms); the main file's identifiers lead to its own.
  CXSourceRange whole = clang_getRange(clang_getLocationForOffset(tu, visit.main_file, 0),
                                       clang_getLocationForOffset(tu, visit.main_file, static_cast<unsigned>(text.size())));
  CXToken* tokens = nullptr;
  unsigned count = 0;
  clang_tokenize(tu, whole, &tokens, &count);
  std::set<unsigned> seen;
  CXCursor tu_cursor = clang_getTranslationUnitCursor(tu);
  for (unsigned i = 0; i < count; i++) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier) continue;
    CXCursor cursor = clang_getCursor(tu, clang_getTokenLocation(tu, tokens[i]));
    CXCursorKind kind = clang_getCursorKind(cursor);
    if (kind != CXCursor_VarDecl && kind != CXCursor_FunctionDecl) continue;
    if (!clang_equalCursors(clang_getCursorSemanticParent(cursor), tu_cursor)) continue;
    if (!seen.insert(clang_hashCursor(cursor)).second) continue;
    visit_top_level(cursor, tu_cursor, &visit);
  }
  clang_disposeTokens(tu, tokens, count);
  clang_disposeTranslationUnit(tu);
  return docs;
}

}  // namespace ecli::compiler

