// ecc-clang: clang 19's driver and BPF back end linked statically into one
// executable, with ecc's source reader as a built-in plugin (ecc-docs).
// Against running clang-19 it saves the dynamic loading of libLLVM and
// libclang-cpp (~50 ms of a compile), and reading the docs takes no second
// parse. Same options and output as clang; only the BPF target is built in.
#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Frontend/TextDiagnosticBuffer.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/TargetParser/Host.h>

#include <unistd.h>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
void LLVMInitializeBPFAsmParser();
}

namespace ecli::compiler {
void link_docs_plugin();
}

namespace {

// The frontend actions ecc and users need; others are refused by name.
std::unique_ptr<clang::FrontendAction> action_for(clang::frontend::ActionKind kind) {
  using namespace clang;
  switch (kind) {
    case frontend::EmitObj: return std::make_unique<EmitObjAction>();
    case frontend::EmitBC: return std::make_unique<EmitBCAction>();
    case frontend::EmitLLVM: return std::make_unique<EmitLLVMAction>();
    case frontend::EmitAssembly: return std::make_unique<EmitAssemblyAction>();
    case frontend::GeneratePCH: return std::make_unique<GeneratePCHAction>();
    case frontend::ParseSyntaxOnly: return std::make_unique<SyntaxOnlyAction>();
    case frontend::PrintPreprocessedInput: return std::make_unique<PrintPreprocessedAction>();
    case frontend::RunPreprocessorOnly: return std::make_unique<PreprocessOnlyAction>();
    default: return nullptr;
  }
}

// The `-cc1` job, run in this process (the driver calls it, no fork and exec).
int cc1(llvm::SmallVectorImpl<const char*>& argv) {
  auto ci = std::make_unique<clang::CompilerInstance>();
  llvm::IntrusiveRefCntPtr<clang::DiagnosticIDs> ids(new clang::DiagnosticIDs());
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> options = new clang::DiagnosticOptions();
  auto* buffer = new clang::TextDiagnosticBuffer;
  clang::DiagnosticsEngine early(ids, &*options, buffer);
  bool ok = clang::CompilerInvocation::CreateFromArgs(ci->getInvocation(), llvm::ArrayRef(argv).slice(2), early,
                                                      argv[0]);
  ci->createDiagnostics();
  buffer->FlushDiagnostics(ci->getDiagnostics());
  if (!ok) return 1;
  std::unique_ptr<clang::FrontendAction> action = action_for(ci->getFrontendOpts().ProgramAction);
  if (!action) {
    llvm::errs() << "ecc-clang: this frontend action is not built in; use clang\n";
    return 1;
  }
  ok = ci->ExecuteAction(*action);
  // As clang with -disable-free: the process ends now, freeing the AST is wasted time.
  ci.release();
  action.release();
  return ok ? 0 : 1;
}

}  // namespace

int main(int argc, const char** argv) {
  ecli::compiler::link_docs_plugin();
  LLVMInitializeBPFTargetInfo();
  LLVMInitializeBPFTarget();
  LLVMInitializeBPFTargetMC();
  LLVMInitializeBPFAsmPrinter();
  LLVMInitializeBPFAsmParser();
  llvm::SmallVector<const char*, 64> args(argv, argv + argc);
  int result = 1;
  if (argc > 1 && llvm::StringRef(argv[1]) == "-cc1") {
    result = cc1(args);
  } else {
    llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> options = new clang::DiagnosticOptions();
    auto* printer = new clang::TextDiagnosticPrinter(llvm::errs(), &*options);
    clang::DiagnosticsEngine diags(new clang::DiagnosticIDs(), &*options, printer);
    // The resource folder (clang's own headers) is found from this path.
    clang::driver::Driver driver(ECC_CLANG_RESOURCE_EXECUTABLE, llvm::sys::getDefaultTargetTriple(), diags,
                                 "clang");
    driver.CC1Main = cc1;
    std::unique_ptr<clang::driver::Compilation> compilation(driver.BuildCompilation(args));
    if (compilation && !compilation->containsError()) {
      llvm::SmallVector<std::pair<int, const clang::driver::Command*>, 4> failing;
      result = driver.ExecuteCompilation(*compilation, failing);
      for (auto& [code, command] : failing)
        if (code) result = code;
    }
    compilation.release();
  }
  llvm::outs().flush();
  llvm::errs().flush();
  _exit(result);
}
