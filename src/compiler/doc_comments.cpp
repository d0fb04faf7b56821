#include "compiler/doc_comments.hpp"

#include <clang-c/Index.h>
#include <fmt/format.h>

#include <memory>
#include <algorithm>
#include <cstring>
#include <set>

#include "compiler/annotations.hpp"
#include "compiler/cursor_util.hpp"
#include "compiler/map_roles.hpp"
#include "compiler/stack_fields.hpp"
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

std::string location_text(CXCursor cursor) { return cursors::location(cursor); }

// The comment of a declaration. For `struct {...} name SEC(".maps");` clang
// attaches the comment above `struct {` to the anonymous struct, so look there too.
std::string raw_comment(CXCursor cursor) {
  std::string text = to_string(clang_Cursor_getRawCommentText(cursor));
  if (!text.empty() || clang_getCursorKind(cursor) != CXCursor_VarDecl) return text;
  CXCursor record = clang_getTypeDeclaration(clang_getCursorType(cursor));
  if (clang_Cursor_isNull(record) || !clang_Cursor_isAnonymous(record)) return text;
  return to_string(clang_Cursor_getRawCommentText(record));
}

// Through implicit casts, parentheses and `&` to the expression that matters.
CXCursor strip(CXCursor c) {
  for (int guard = 0; guard < 16; guard++) {
    CXCursorKind kind = clang_getCursorKind(c);
    if (kind != CXCursor_UnexposedExpr && kind != CXCursor_ParenExpr && kind != CXCursor_CStyleCastExpr &&
        kind != CXCursor_UnaryOperator)
      return c;
    CXCursor only = clang_getNullCursor();
    clang_visitChildren(
        c,
        [](CXCursor child, CXCursor, CXClientData data) {
          *static_cast<CXCursor*>(data) = child;
          return CXChildVisit_Break;
        },
        &only);
    if (clang_Cursor_isNull(only)) return c;
    // A cast to void * hides the type we want; `&event` has it one level down.
    if (kind == CXCursor_CStyleCastExpr || kind == CXCursor_UnexposedExpr || kind == CXCursor_ParenExpr ||
        kind == CXCursor_UnaryOperator)
      c = only;
  }
  return c;
}

// "struct event" for a `struct event *` or `struct event`; empty for void * and scalars.
std::string record_name(CXType type) {
  if (type.kind == CXType_Pointer) type = clang_getPointeeType(type);
  CXType canonical = clang_getCanonicalType(type);
  if (canonical.kind != CXType_Record) return {};
  CXCursor decl = clang_getTypeDeclaration(canonical);
  std::string name = to_string(clang_getCursorSpelling(decl));
  if (!name.empty() && !clang_Cursor_isAnonymous(decl))
    return (clang_getCursorKind(decl) == CXCursor_UnionDecl ? "union " : "struct ") + name;
  // An anonymous struct behind a typedef: the typedef's name.
  if (type.kind == CXType_Typedef || type.kind == CXType_Elaborated) {
    std::string spelled = to_string(clang_getTypeSpelling(type));
    for (const char* q : {"const ", "volatile "})
      while (spelled.starts_with(q)) spelled.erase(0, strlen(q));
    return spelled;
  }
  return {};
}

std::string map_name_of(CXCursor arg) {
  CXCursor c = strip(arg);
  if (clang_getCursorKind(c) != CXCursor_DeclRefExpr) return {};
  return to_string(clang_getCursorSpelling(clang_getCursorReferenced(c)));
}

// The type of the value a data argument points at (through casts to void *).
std::string sent_type(CXCursor arg) {
  CXCursor c = arg;
  for (int guard = 0; guard < 16; guard++) {
    std::string name = record_name(clang_getCursorType(c));
    if (!name.empty()) return name;
    CXCursor inner = strip(c);
    if (clang_equalCursors(inner, c)) break;
    c = inner;
  }
  return record_name(clang_getCursorType(c));
}

struct Discovery {
  SourceDocs* docs;
  CXType context;  // the type being initialised or assigned, for bpf_ringbuf_reserve
};

void record_event_type(SourceDocs& docs, const std::string& map, const std::string& type, CXCursor where) {
  if (map.empty() || type.empty()) return;
  auto [it, inserted] = docs.event_types.emplace(map, type);
  if (!inserted && it->second != type)
    docs.warnings.push_back(fmt::format("{}: warning: map '{}' is sent both {} and {}; events are decoded as {}",
                                        location_text(where), map, it->second, type, it->second));
}

CXChildVisitResult discover(CXCursor cursor, CXCursor, CXClientData data) {
  auto* d = static_cast<Discovery*>(data);
  CXCursorKind kind = clang_getCursorKind(cursor);
  Discovery inner = *d;
  if (kind == CXCursor_VarDecl) inner.context = clang_getCursorType(cursor);
  if (kind == CXCursor_BinaryOperator || kind == CXCursor_CompoundAssignOperator) {
    CXCursor lhs = clang_getNullCursor();
    clang_visitChildren(
        cursor,
        [](CXCursor child, CXCursor, CXClientData out) {
          *static_cast<CXCursor*>(out) = child;
          return CXChildVisit_Break;
        },
        &lhs);
    if (!clang_Cursor_isNull(lhs)) inner.context = clang_getCursorType(lhs);
  }
  if (kind == CXCursor_CallExpr) {
    std::string callee = to_string(clang_getCursorSpelling(cursor));
    int args = clang_Cursor_getNumArguments(cursor);
    if (callee == "bpf_ringbuf_reserve" && args >= 1)
      record_event_type(*d->docs, map_name_of(clang_Cursor_getArgument(cursor, 0)), record_name(d->context), cursor);
    else if (callee == "bpf_ringbuf_output" && args >= 2)
      record_event_type(*d->docs, map_name_of(clang_Cursor_getArgument(cursor, 0)),
                        sent_type(clang_Cursor_getArgument(cursor, 1)), cursor);
    else if (callee == "bpf_perf_event_output" && args >= 4)
      record_event_type(*d->docs, map_name_of(clang_Cursor_getArgument(cursor, 1)),
                        sent_type(clang_Cursor_getArgument(cursor, 3)), cursor);
  }
  clang_visitChildren(cursor, discover, &inner);
  return CXChildVisit_Continue;
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

CXChildVisitResult visit_top_level(CXCursor cursor, CXCursor, CXClientData data) {
  auto* visit = static_cast<Visit*>(data);
  auto* docs = visit->docs;
  if (!cursors::in_file(cursor, visit->main_file)) return CXChildVisit_Continue;
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

  if (kind == CXCursor_FunctionDecl && clang_isCursorDefinition(cursor)) {
    Discovery discovery{docs, CXType{CXType_Invalid, {nullptr, nullptr}}};
    clang_visitChildren(cursor, discover, &discovery);
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

// `/// @format KIND` on the fields of the main file's structs: type name ->
// field -> kind (the runtime's output/value_format.hpp checks the kind). A
// field of an anonymous struct or union counts as one of the named struct
// around it, as the printed plan shows it.
void collect_field_formats(CXTranslationUnit tu, const Visit& visit, size_t size, SourceDocs& docs) {
  CXSourceRange whole = clang_getRange(clang_getLocationForOffset(tu, visit.main_file, 0),
                                       clang_getLocationForOffset(tu, visit.main_file, static_cast<unsigned>(size)));
  CXToken* tokens = nullptr;
  unsigned count = 0;
  clang_tokenize(tu, whole, &tokens, &count);
  std::set<unsigned> seen;
  for (unsigned i = 0; i < count; i++) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier) continue;
    CXCursor field = clang_getCursor(tu, clang_getTokenLocation(tu, tokens[i]));
    if (clang_getCursorKind(field) != CXCursor_FieldDecl || !seen.insert(clang_hashCursor(field)).second) continue;
    std::string raw = to_string(clang_Cursor_getRawCommentText(field));
    if (raw.empty()) {
      unsigned line = 0;
      clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(field)), nullptr, &line, nullptr, nullptr);
      raw = doc_comment_above(visit.lines, line);
    }
    if (raw.find("@format") == std::string::npos) continue;
    package::Json annotations = parse_doc_comment(raw);
    if (!annotations.contains("format")) continue;
    const package::Json& kind = annotations["format"];
    if (!kind.is_string()) {
      docs.warnings.push_back(location_text(field) + ": warning: @format takes a kind such as ip or errno");
      continue;
    }
    std::string type = cursors::field_owner_name(field);
    if (type.empty()) {
      docs.warnings.push_back(location_text(field) + ": warning: @format is read on fields of named structs only");
      continue;
    }
    docs.field_formats[type][to_string(clang_getCursorSpelling(field))] = kind.get<std::string>();
  }
  clang_disposeTokens(tu, tokens, count);
}

// A PCH libclang cannot use shows up as a fatal diagnostic.
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
                                               CXTranslationUnit_KeepGoing, &tu);
  return rc == CXError_Success ? tu : nullptr;
}

}  // namespace

std::string cursors::field_owner_name(CXCursor field) {
  CXCursor record = clang_getCursorSemanticParent(field);
  for (int guard = 0; guard < 16 && clang_Cursor_isAnonymous(record); guard++)
    record = clang_getCursorSemanticParent(record);
  // `typedef struct { ... } sample_t;`: clang spells the type "sample_t", as
  // BTF names it (libclang 19 would give the struct the typedef's name).
  std::string spelled = to_string(clang_getTypeSpelling(clang_getCanonicalType(clang_getCursorType(record))));
  if (!spelled.empty() && !spelled.starts_with("struct ") && !spelled.starts_with("union ") &&
      spelled.find_first_of("( ") == std::string::npos)
    return spelled;
  return record_name(clang_getCursorType(record));
}

// Struct definitions written in `header`, as the translation unit saw them.
void collect_header_structs(CXTranslationUnit tu, const std::string& header, SourceDocs& docs) {
  CXFile file = clang_getFile(tu, header.c_str());
  if (!file) {
    docs.warnings.push_back("warning: " + header + " is not included by the source; its structs are not exported");
    return;
  }
  size_t size = 0;
  clang_getFileContents(tu, file, &size);
  CXSourceRange whole = clang_getRange(clang_getLocationForOffset(tu, file, 0),
                                       clang_getLocationForOffset(tu, file, static_cast<unsigned>(size)));
  CXToken* tokens = nullptr;
  unsigned count = 0;
  clang_tokenize(tu, whole, &tokens, &count);
  for (unsigned i = 0; i < count; i++) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier) continue;
    CXCursor cursor = clang_getCursor(tu, clang_getTokenLocation(tu, tokens[i]));
    if (clang_getCursorKind(cursor) != CXCursor_StructDecl || !clang_isCursorDefinition(cursor)) continue;
    std::string name = to_string(clang_getCursorSpelling(cursor));
    if (name.empty() || clang_Cursor_isAnonymous(cursor)) continue;
    if (std::find(docs.header_structs.begin(), docs.header_structs.end(), name) == docs.header_structs.end())
      docs.header_structs.push_back(name);
  }
  clang_disposeTokens(tu, tokens, count);
}

SourceDocs extract_docs(const std::string& source, const std::vector<std::string>& clang_args,
                        const std::string& pch, const std::vector<std::string>& headers) {
  SourceDocs docs;
  std::unique_ptr<void, decltype(&clang_disposeIndex)> index(clang_createIndex(0, 0), clang_disposeIndex);
  CXTranslationUnit tu = parse(index.get(), source, clang_args, pch);
  // A PCH of another clang fails the parse (libclang 19) or leaves a fatal
  // diagnostic (libclang 14): read the source without it.
  docs.read_with_pch = !pch.empty();
  if (!pch.empty() && (!tu || pch_rejected(tu))) {
    if (tu) clang_disposeTranslationUnit(tu);
    tu = parse(index.get(), source, clang_args, {});
    docs.read_with_pch = false;
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
  RoleAnalysis roles(visit.main_file);
  StackFields stacks(visit.main_file);
  for (unsigned i = 0; i < count; i++) {
    if (clang_getTokenKind(tokens[i]) != CXToken_Identifier) continue;
    CXCursor cursor = clang_getCursor(tu, clang_getTokenLocation(tu, tokens[i]));
    CXCursorKind kind = clang_getCursorKind(cursor);
    if (kind != CXCursor_VarDecl && kind != CXCursor_FunctionDecl) continue;
    if (!clang_equalCursors(clang_getCursorSemanticParent(cursor), tu_cursor)) continue;
    if (!seen.insert(clang_hashCursor(cursor)).second) continue;
    visit_top_level(cursor, tu_cursor, &visit);
    if (kind == CXCursor_VarDecl) roles.add_declaration(cursor);
    else {
      roles.add_function(cursor);
      stacks.add_function(cursor);
    }
  }
  docs.roles = roles.roles();
  docs.stack_fields = stacks.result();
  docs.warnings.insert(docs.warnings.end(), stacks.warnings().begin(), stacks.warnings().end());
  clang_disposeTokens(tu, tokens, count);
  for (const auto& header : headers) collect_header_structs(tu, header, docs);
  collect_field_formats(tu, visit, text.size(), docs);
  clang_disposeTranslationUnit(tu);
  return docs;
}

}  // namespace ecli::compiler

