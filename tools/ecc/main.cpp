// ecc: compile one BPF C file into a portable package (DESIGN.md §2).
#include <CLI/CLI.hpp>

#include <iostream>

#include "compiler/ecc.hpp"
#include "util/error.hpp"

int main(int argc, char** argv) {
  ecli::compiler::EccOptions options;
  std::vector<std::string> inputs;
  bool no_pch = false;

  CLI::App app("Compile an eBPF C file into package.json (BPF object + metadata) for `ecli run`.", "ecc");
  app.add_option("files", inputs, "FILE.bpf.c, then optional headers whose structs are exported")
      ->required()
      ->type_name("FILE.bpf.c [HEADER.h ...]");
  app.add_option("-o,--output", options.output_dir, "Folder for package.json and NAME.bpf.o (default: the source's)");
  app.add_option("-a,--additional-cflags", options.extra_flags, "Extra flag for clang (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-c,--clang", options.clang, "clang to run (default: $CLANG, else the newest clang-N on PATH, else clang)");
  app.add_option("-b,--btf", options.btf, "BTF file for the generated vmlinux.h (default: /sys/kernel/btf/vmlinux)");
  app.add_flag("--no-pch", no_pch, "Do not use a precompiled vmlinux.h");
  app.add_flag("-q,--quiet", options.quiet, "Print only errors");
  app.add_flag("-v,--verbose", options.verbose, "Print the commands run and the precompiled headers used");
  app.set_version_flag("-V,--version", std::string("ecc ") + ECLI_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "ecc: " << e.what() << " (see ecc --help)\n";
    return 2;
  }
  options.source = inputs.front();
  options.headers.assign(inputs.begin() + 1, inputs.end());
  options.use_pch = !no_pch;
  try {
    ecli::compiler::run_ecc(options);
  } catch (const ecli::Error& e) {
    if (!e.details().empty()) std::cerr << e.details();
    std::cerr << "ecc: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "ecc: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
