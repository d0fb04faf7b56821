#pragma once
// Small libclang cursor helpers shared by the source analyses (map_roles.cpp,
// stack_fields.cpp).
#include <clang-c/Index.h>

#include <string>
#include <vector>

namespace ecli::compiler::cursors {

inline std::string spelling(CXCursor c) {
  CXString s = clang_getCursorSpelling(c);
  const char* p = clang_getCString(s);
  std::string out = p ? p : "";
  clang_disposeString(s);
  return out;
}

inline std::vector<CXCursor> children(CXCursor c) {
  std::vector<CXCursor> out;
  clang_visitChildren(
      c,
      [](CXCursor child, CXCursor, CXClientData data) {
        static_cast<std::vector<CXCursor>*>(data)->push_back(child);
        return CXChildVisit_Continue;
      },
      &out);
  return out;
}

inline std::vector<CXCursor> expression_children(CXCursor c) {
  std::vector<CXCursor> out;
  for (CXCursor child : children(c))
    if (clang_isExpression(clang_getCursorKind(child))) out.push_back(child);
  return out;
}

// Through parentheses and casts (implicit or written) to the expression inside.
inline CXCursor skip_noise(CXCursor c) {
  for (int guard = 0; guard < 32; guard++) {
    CXCursorKind kind = clang_getCursorKind(c);
    if (kind != CXCursor_UnexposedExpr && kind != CXCursor_ParenExpr && kind != CXCursor_CStyleCastExpr) return c;
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) return c;
    c = inner.back();
  }
  return c;
}

// The declaration `x` or `&x` names (through casts and parentheses): the map
// argument of a helper. Null for anything else.
inline CXCursor declaration_named(CXCursor arg) {
  CXCursor c = skip_noise(arg);
  if (clang_getCursorKind(c) == CXCursor_UnaryOperator &&
      clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_AddrOf) {
    std::vector<CXCursor> inner = expression_children(c);
    if (inner.empty()) return clang_getNullCursor();
    c = skip_noise(inner.front());
  }
  return clang_getCursorKind(c) == CXCursor_DeclRefExpr ? clang_getCursorReferenced(c) : clang_getNullCursor();
}

// Declared in the main file, also when a macro of the main file wrote it.
inline bool in_file(CXCursor cursor, CXFile main_file) {
  CXFile file = nullptr;
  clang_getExpansionLocation(clang_getCursorLocation(cursor), &file, nullptr, nullptr, nullptr);
  return file && clang_File_isEqual(file, main_file);
}

// "file:line" where a cursor starts (`struct {` of a map, not its name).
inline std::string location(CXCursor cursor) {
  CXFile file = nullptr;
  unsigned line = 0;
  clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(cursor)), &file, &line, nullptr, nullptr);
  CXString name = clang_getFileName(file);
  const char* p = clang_getCString(name);
  std::string out = (p ? p : "") + (":" + std::to_string(line));
  clang_disposeString(name);
  return out;
}

// The name collect_field_formats and stack_fields give the struct a field
// belongs to: "struct key_t", "union u", the typedef's name for an anonymous
// struct behind a typedef; a field of an anonymous inner struct or union
// counts as one of the named struct around it. Empty when there is none.
// Defined in doc_comments.cpp.
std::string field_owner_name(CXCursor field);

}  // namespace ecli::compiler::cursors
