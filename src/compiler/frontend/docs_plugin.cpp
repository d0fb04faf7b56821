// The frontend plugin "ecc-docs" of ecc-clang: while the compile parses the
// source, it reads the source's docs (doc_comments.hpp) and writes them as
// JSON to the file its `docs=FILE` argument names, so that ecc needs no
// second parse. Arguments (-plugin-arg-ecc-docs): `docs=FILE`, and
// `header=FILE` for each header given to ecc.
#include <clang/AST/ASTConsumer.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendPluginRegistry.h>
#include <clang/Lex/PreprocessorOptions.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "compiler/frontend/doc_comments.hpp"

namespace ecli::compiler {
namespace {

class DocsConsumer : public clang::ASTConsumer {
 public:
  DocsConsumer(std::string output, std::vector<std::string> headers, bool with_pch)
      : output_(std::move(output)), headers_(std::move(headers)), with_pch_(with_pch) {}

  bool HandleTopLevelDecl(clang::DeclGroupRef group) override {
    for (clang::Decl* d : group) decls_.push_back(d);
    return true;
  }

  void HandleTranslationUnit(clang::ASTContext& context) override {
    // Exceptions (the JSON library's) must not unwind through LLVM's frames.
    try {
      SourceDocs docs = collect_docs(context, decls_, headers_);
      docs.read_with_pch = with_pch_;
      std::string tmp = output_ + ".tmp." + std::to_string(getpid());
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << docs_to_json(docs).dump(-1, ' ', false, package::Json::error_handler_t::replace);
        if (!out.flush()) throw std::runtime_error("cannot write " + tmp);
      }
      if (std::rename(tmp.c_str(), output_.c_str()) != 0) throw std::runtime_error("cannot write " + output_);
    } catch (const std::exception& e) {
      llvm::errs() << "ecc-clang: cannot read the source's docs: " << e.what() << "\n";
    }
  }

 private:
  std::string output_;
  std::vector<std::string> headers_;
  bool with_pch_;
  std::vector<clang::Decl*> decls_;
};

class DocsPlugin : public clang::PluginASTAction {
 protected:
  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance& ci, llvm::StringRef) override {
    bool with_pch = !ci.getPreprocessorOpts().ImplicitPCHInclude.empty();
    return std::make_unique<DocsConsumer>(output_, headers_, with_pch);
  }

  bool ParseArgs(const clang::CompilerInstance& ci, const std::vector<std::string>& args) override {
    for (const auto& arg : args) {
      if (arg.starts_with("docs=")) output_ = arg.substr(5);
      else if (arg.starts_with("header=")) headers_.push_back(arg.substr(7));
      else {
        clang::DiagnosticsEngine& diags = ci.getDiagnostics();
        diags.Report(diags.getCustomDiagID(clang::DiagnosticsEngine::Error, "ecc-docs: unknown argument '%0'"))
            << arg;
        return false;
      }
    }
    return !output_.empty();
  }

  ActionType getActionType() override { return AddAfterMainAction; }

 private:
  std::string output_;
  std::vector<std::string> headers_;
};

clang::FrontendPluginRegistry::Add<DocsPlugin> registration("ecc-docs", "write the source's docs for ecc");

}  // namespace

// Referenced by ecc-clang's main, so that the linker keeps this file (and its registration).
void link_docs_plugin() {}

}  // namespace ecli::compiler
