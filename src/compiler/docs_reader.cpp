#include "compiler/docs_reader.hpp"

#include <unistd.h>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/module_loader.hpp"
#include "util/subprocess.hpp"

namespace ecli::compiler {

std::string embedded_clang() { return find_companion("ecc-clang"); }

std::vector<std::string> docs_flags(const std::filesystem::path& output, const std::vector<std::string>& headers) {
  std::vector<std::string> flags = {"-Xclang", "-add-plugin", "-Xclang", "ecc-docs",
                                    "-Xclang", "-plugin-arg-ecc-docs", "-Xclang", "docs=" + output.string()};
  for (const auto& h : headers)
    flags.insert(flags.end(), {"-Xclang", "-plugin-arg-ecc-docs", "-Xclang", "header=" + h});
  return flags;
}

SourceDocs read_docs_file(const std::filesystem::path& file) {
  std::string text;
  try {
    text = read_file(file);
  } catch (const Error&) {
    throw Error("ecc-clang wrote no docs of the source (" + file.string() + ")");
  }
  package::Json json = package::Json::parse(text, nullptr, false);
  if (json.is_discarded()) throw Error("the docs ecc-clang wrote (" + file.string() + ") are not JSON");
  return docs_from_json(json);
}

SourceDocs extract_docs(const std::string& source, const std::vector<std::string>& clang_args,
                        const std::string& pch, const std::vector<std::string>& headers) {
  std::string clang = embedded_clang();
  if (clang.empty()) throw Error("cannot find ecc-clang, ecc's compiler, beside ecc");
  std::filesystem::path output =
      std::filesystem::temp_directory_path() / ("ecc-docs-" + std::to_string(getpid()) + ".json");
  struct Remove {
    std::filesystem::path path;
    ~Remove() {
      std::error_code ec;
      std::filesystem::remove(path, ec);
    }
  } remove{output};
  auto run = [&](const std::string& with_pch) {
    std::vector<std::string> argv = {clang, "-fsyntax-only"};
    argv.insert(argv.end(), clang_args.begin(), clang_args.end());
    if (!with_pch.empty()) argv.insert(argv.end(), {"-include-pch", with_pch});
    std::vector<std::string> flags = docs_flags(output, headers);
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.push_back(source);
    return run_process(argv);
  };
  ProcessResult result = run(pch);
  // A PCH of another clang, or one whose headers changed, fails the parse: read without it.
  if (result.exit_code != 0 && !pch.empty()) result = run({});
  if (result.exit_code != 0) {
    // A source with errors still has its docs read; a failure before the parse has none.
    std::error_code ec;
    if (!std::filesystem::exists(output, ec)) throw Error("ecc-clang could not parse " + source, result.output);
  }
  return read_docs_file(output);
}

}  // namespace ecli::compiler
