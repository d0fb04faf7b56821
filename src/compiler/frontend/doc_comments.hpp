#pragma once
// The source's docs (compiler/source_docs.hpp) read off clang's AST of one
// translation unit, by ecc-clang while it compiles.
#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>

#include <string>
#include <vector>

#include "compiler/source_docs.hpp"

namespace ecli::compiler {

// `top_level` are the declarations the parser handed over, in order (those of
// a PCH are not among them: walking the whole translation unit would read
// every declaration of vmlinux.h). `headers` are the headers given to ecc,
// whose named structs are exported.
SourceDocs collect_docs(clang::ASTContext& context, const std::vector<clang::Decl*>& top_level,
                        const std::vector<std::string>& headers);

// The `///` lines or `/** */` block that end on the line right above `line`
// (1-based) of `lines`. clang does not attach comments to declarations that
// come out of macros (BPF_KPROBE, BPF_PROG), so for those ecc looks where the
// parser says the declaration starts.
std::string doc_comment_above(const std::vector<std::string>& lines, unsigned line);

}  // namespace ecli::compiler
