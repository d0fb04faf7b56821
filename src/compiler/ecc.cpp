#include "compiler/ecc.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <set>
#include <iostream>

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include "btf/object_meta.hpp"
#include "btf/render_plan.hpp"
#include "output/snapshot.hpp"
#include "package/sample_spec.hpp"
#include "compiler/clang_driver.hpp"
#include "compiler/docs_reader.hpp"
#include "compiler/includes.hpp"
#include "compiler/vmlinux.hpp"
#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::compiler {
namespace {

using package::Json;

// Splits annotations into the keys a model field owns and the rest.
Json take(Json& annotations, const char* key) {
  auto it = annotations.find(key);
  if (it == annotations.end()) return nullptr;
  Json value = *it;
  annotations.erase(it);
  return value;
}

Json annotations_for(const std::map<std::string, Json>& table, const std::string& name) {
  auto it = table.find(name);
  if (it == table.end()) return Json::object();
  Json out = it->second;
  out.erase("__location");
  return out;
}

std::string text_of(const Json& value) {
  if (value.is_null()) return {};
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// `@sample` must be usable as written: a known type, valid JSON, and for a
// histogram a value with a slots array. Errors name the file and line.
void check_sampled_maps(const std::string& object, const package::Meta& meta, const SourceDocs& docs) {
  libbpf_print_fn_t previous = libbpf_set_print(nullptr);
  std::unique_ptr<bpf_object, decltype(&bpf_object__close)> obj(bpf_object__open_mem(object.data(), object.size(), nullptr),
                                                                bpf_object__close);
  libbpf_set_print(previous);
  if (libbpf_get_error(obj.get())) {
    obj.release();
    return;  // describe_object already read it; nothing more to check here
  }
  const struct btf* btf = bpf_object__btf(obj.get());
  for (const auto& m : meta.maps) {
    if (m.sample.is_null()) continue;
    std::string where;
    if (auto it = docs.variables.find(m.name); it != docs.variables.end()) where = it->second.value("__location", "");
    try {
      package::SampleSpec spec = package::parse_sample_spec(m.sample);
      struct bpf_map* map = bpf_object__find_map_by_name(obj.get(), m.name.c_str());
      if (spec.kind != package::SampleSpec::Kind::Table && map && btf && bpf_map__btf_value_type_id(map))
        output::find_slots(btf::build_render_plan(btf, bpf_map__btf_value_type_id(map)));
    } catch (const Error& e) {
      throw Error(fmt::format("{}{}map '{}': {}", where, where.empty() ? "" : ": ", m.name, e.what()));
    }
  }
}

// A stale or incompatible PCH must never break a build: retry without it.
ProcessResult finish_compile(StartedCompile& started, const Clang& clang, const std::filesystem::path& source,
                             const std::filesystem::path& output, const std::vector<std::string>& cflags,
                             const std::filesystem::path& pch, bool verbose) {
  ProcessResult result = started.wait();
  if (result.exit_code != 0 && !pch.empty()) {
    if (verbose) std::cerr << "ecc: failed with the PCH; compiling again without it\n";
    // A header it holds changed (libbpf upgraded): the next run builds it anew.
    if (result.output.find("since the precompiled header") != std::string::npos) {
      std::error_code ec;
      std::filesystem::remove(pch, ec);
    }
    result = compile_object(clang, source, output, cflags, {});
  }
  return result;
}

ProcessResult compile(const Clang& clang, const std::filesystem::path& source, const std::filesystem::path& output,
                      const std::vector<std::string>& cflags, const std::filesystem::path& pch, bool verbose) {
  StartedCompile started = start_compile(clang, source, output, cflags, pch);
  return finish_compile(started, clang, source, output, cflags, pch, verbose);
}

// Unused functions taking a pointer to each of `types`: clang writes the types
// of function signatures into BTF.
std::string keep_functions(const std::string& prefix, const std::vector<std::string>& types) {
  std::string text;
  for (size_t i = 0; i < types.size(); i++) text += "void " + prefix + std::to_string(i) + "(" + types[i] + " *p) {}\n";
  return text;
}

// clang's words for an instruction the chosen BPF ISA lacks do not say how to get it.
std::string isa_hint(const Clang& clang, const std::string& diagnostics) {
  if (diagnostics.find("signed division") == std::string::npos) return {};
  if (clang.major < 18)
    return " (signed division needs BPF v4: clang 18 or newer, chosen with --clang; this is " + clang.command + ")";
  return " (signed division needs BPF v4, which ecc chooses on kernels 6.6 and newer; -a -mcpu=v4 forces it)";
}

// The PCH ecc-clang can read the source with when another clang compiles it
// (--clang): one it wrote itself (built now, on the reader's thread, the
// first time), else none. `prefix` is the source's leading includes the
// compiler's PCH holds (empty: vmlinux.h alone).
std::filesystem::path pch_for_doc_reader(const Clang& reader, const std::filesystem::path& compiler_pch,
                                         const std::filesystem::path& header, const std::string& prefix,
                                         const std::vector<std::string>& cflags) {
  if (compiler_pch.empty()) return {};
  if (!prefix.empty()) return provide_prefix_pch(reader, header.parent_path(), prefix, cflags);
  return provide_pch(reader, header, cflags);
}

// The "role" of each map and global (map_roles.hpp has the rules), and a
// map's `@print` annotation over it: `@print` (or `@print true`) makes it
// "result", `@print false` makes it "quiet" (for a global: "option"); the
// annotation itself is not kept. Globals are "result", "state" or "option";
// a map or global the reader did not see is "other" / "option". `@sample` maps are "result" too (unless
// `@print false`). An array global indexed by an enum gets "index_names".
void merge_roles(package::Meta& meta, const SourceDocs& docs) {
  static const std::set<std::string> variable_roles = {"result", "state", "option"};
  auto computed = [&](const std::string& name) -> const Json* {
    auto it = docs.roles.find(name);
    return it == docs.roles.end() ? nullptr : &it->second;
  };
  auto forced = [](Json& extra) -> Json {
    if (!extra.is_object() || !extra.contains("print")) return nullptr;
    Json print = extra["print"];
    extra.erase("print");
    if (print.is_string()) print = print != "false";
    return print.is_boolean() ? print : Json(true);
  };
  for (auto& section : meta.data_sections) {
    for (auto& var : section.variables) {
      const Json* c = computed(var.name);
      std::string role = c && variable_roles.count(c->value("role", "")) ? (*c)["role"].get<std::string>() : "option";
      Json print = forced(var.extra);
      if (print.is_boolean()) role = print.get<bool>() ? "result" : "option";
      var.extra["role"] = role;
      if (c && c->contains("index_names")) var.extra["index_names"] = (*c)["index_names"];
    }
  }
  for (auto& map : meta.maps) {
    if (map.mmaped) {
      map.extra["role"] = "other";  // a data section: its variables have roles
      continue;
    }
    const Json* c = computed(map.name);
    std::string role = c && c->value("role", "") != "option" ? (*c)["role"].get<std::string>() : "other";
    if (!map.sample.is_null()) role = "result";
    Json print = forced(map.extra);
    if (print.is_boolean()) role = print.get<bool>() ? "result" : "quiet";
    map.extra["role"] = role;
  }
}

}  // namespace

std::string program_base_name(const std::filesystem::path& source) {
  std::string name = source.filename().string();
  for (std::string_view suffix : {".bpf.c", ".c"})
    if (name.ends_with(suffix) && name.size() > suffix.size()) return name.substr(0, name.size() - suffix.size());
  return name;
}

void merge_docs(package::Meta& meta, const SourceDocs& docs) {
  for (auto& section : meta.data_sections) {
    for (auto& var : section.variables) {
      Json a = annotations_for(docs.variables, var.name);
      var.description = text_of(take(a, "description"));
      var.cmdarg = take(a, "cmdarg");
      var.extra = std::move(a);
    }
  }
  for (auto& map : meta.maps) {
    if (map.mmaped) continue;  // data sections are documented per variable
    Json a = annotations_for(docs.variables, map.name);
    map.sample = take(a, "sample");
    map.extra = std::move(a);
  }
  for (auto& prog : meta.progs) prog.extra = annotations_for(docs.functions, prog.name);
  // Which struct each event map carries: our "event_type" key, and the same in
  // the reference's form (export_config {"btf_type_id": id}, the id in this
  // object's BTF as describe_object recorded it in export_types), which the
  // reference reads when meta.enable_multiple_export_types is true. With one
  // stream it needs no switch: it decodes that stream with export_types[0].
  auto export_type_id = [&](const std::string& type) -> uint32_t {
    std::string name = type;
    for (std::string_view prefix : {"struct ", "union "})
      if (name.starts_with(prefix)) name = name.substr(prefix.size());
    for (const auto& t : meta.export_types)
      if (t.name == name) return t.type_id;
    return 0;
  };
  size_t streams = 0;
  for (auto& map : meta.maps) {
    auto it = docs.event_types.find(map.name);
    if (it == docs.event_types.end()) continue;
    map.extra["event_type"] = it->second;
    if (uint32_t id = export_type_id(it->second)) {
      map.export_config.kind = package::ExportConfig::Kind::BtfTypeId;
      map.export_config.btf_type_id = id;
      streams++;
    }
  }
  meta.enable_multiple_export_types = streams > 1;
  merge_roles(meta, docs);
  // The comment on the license variable documents the whole tool.
  for (const char* license : {"LICENSE", "_license", "__license", "license"}) {
    auto it = docs.variables.find(license);
    if (it == docs.variables.end()) continue;
    const Json& a = it->second;
    meta.doc = package::Doc{text_of(a.value("version", Json())), text_of(a.value("brief", Json())),
                            text_of(a.value("details", Json())), text_of(a.value("description", Json()))};
    break;
  }
}

EccResult run_ecc(const EccOptions& options) {
  std::filesystem::path source = std::filesystem::absolute(options.source);
  // The source's folder comes first, so a vmlinux.h or header beside it wins.
  std::vector<std::filesystem::path> user_dirs = {source.parent_path()};
  for (auto& dir : include_dirs_of(options.extra_flags)) user_dirs.push_back(dir);
  // Before anything is written: a missing source is named as the user gave it.
  IncludeScan includes = scan_includes(options.source, user_dirs);
  std::filesystem::path out_dir = options.output_dir.empty() ? source.parent_path() : options.output_dir;
  std::filesystem::create_directories(out_dir);
  std::string name = program_base_name(source);
  print_commands(options.verbose);
  // ecc-clang reads the source's docs, and compiles it unless another clang is chosen.
  std::string embedded = embedded_clang();
  if (embedded.empty()) throw Error("cannot find ecc-clang, ecc's compiler, beside ecc (it is built and installed with it)");
  Clang reader = describe_clang(embedded);
  Clang clang = choose_clang(options.clang, embedded);

  auto say = [&](const char* text) {
    if (!options.quiet) std::cerr << text << std::endl;
  };
  say("Compiling bpf object...");

  std::filesystem::path vmlinux_header;
  std::filesystem::path pch;
  std::string pch_prefix;
  std::vector<std::string> cflags;
  if (includes.wants_vmlinux) {
    VmlinuxHeader header = provide_vmlinux_header(options.btf);
    vmlinux_header = header.header;
    if (options.verbose) std::cerr << "ecc: vmlinux.h is " + header.header.string() + "\n";
    cflags = bpf_cflags(clang, header.dir, options.extra_flags);
    // A user who turns off CO-RE attributes or kfunc prototypes before the
    // include must not get our PCH's.
    if (options.use_pch && !includes.mentions("BPF_NO_PRESERVE_ACCESS_INDEX") &&
        !includes.mentions("BPF_NO_KFUNC_PROTOTYPES")) {
      // The source's leading system includes precompiled together (the
      // libbpf headers are a fifth of a compile's parsing), else vmlinux.h alone.
      pch_prefix = leading_system_includes(includes.texts.front(), user_dirs);
      if (pch_prefix.find('\n') == pch_prefix.rfind('\n')) pch_prefix.clear();  // vmlinux.h only
      pch = pch_prefix.empty() ? provide_pch(clang, header.header, cflags)
                               : provide_prefix_pch(clang, header.dir, pch_prefix, cflags);
    }
  } else {
    cflags = bpf_cflags(clang, {}, options.extra_flags);
  }
  std::vector<std::string> pch_cflags = cflags;
  cflags.insert(cflags.begin(), "-I" + source.parent_path().string());

  std::filesystem::path object_path = out_dir / (name + ".bpf.o");
  std::filesystem::path tmp_object = object_path;
  tmp_object += ".tmp." + std::to_string(getpid());
  struct RemoveTemporaries {
    std::vector<std::filesystem::path> paths;
    ~RemoveTemporaries() {
      std::error_code ec;
      for (auto& p : paths) std::filesystem::remove(p, ec);
    }
  } temporaries{{tmp_object}};

  // clang writes BTF only for the types of globals and function signatures, so
  // a struct that is only used through a local pointer (an event built in a
  // ring buffer reservation) would be missing. Every struct the user's files
  // define is named in an unused function of a header included first; its
  // forward declaration is completed by the definition, so BTF gets the whole
  // struct. A name that is no type, or a struct defined in a function, only
  // adds a forward declaration.
  std::vector<std::string> texts = includes.texts;
  for (const auto& h : options.headers) {
    try {
      texts.push_back(read_file(h));
    } catch (const Error&) {
    }  // the doc reader names it
  }
  std::vector<std::string> compile_flags = cflags;
  if (std::vector<std::string> defined = defined_struct_names(texts); !defined.empty()) {
    std::filesystem::path keep = tmp_object;
    keep += ".keep.h";
    temporaries.paths.push_back(keep);
    std::string text = "/* generated by ecc: keeps the structs of the source in BTF */\n";
    for (const auto& type : defined) text += "struct " + type + ";\n";
    std::vector<std::string> structs;
    for (const auto& type : defined) structs.push_back("struct " + type);
    text += keep_functions("__ecli_keep_type_", structs);
    write_file_atomic(keep, text);
    compile_flags.insert(compile_flags.end(), {"-include", keep.string()});
  }
  std::vector<std::string> headers;
  for (const auto& h : options.headers) headers.push_back(std::filesystem::absolute(h).string());
  ProcessResult compiled;
  SourceDocs docs;
  std::filesystem::path docs_pch;
  if (clang.identity == reader.identity) {
    // ecc-clang compiles and reads the docs in one parse.
    std::filesystem::path docs_file = tmp_object;
    docs_file += ".docs.json";
    temporaries.paths.push_back(docs_file);
    std::vector<std::string> flags = compile_flags;
    std::vector<std::string> plugin = docs_flags(docs_file, headers);
    flags.insert(flags.end(), plugin.begin(), plugin.end());
    compiled = compile(clang, source, tmp_object, flags, pch, options.verbose);
    if (compiled.exit_code == 0) docs = read_docs_file(docs_file);
    docs_pch = pch;
  } else {
    // Another clang (--clang, $CLANG) compiles; ecc-clang reads the docs
    // meanwhile: two cores, two jobs. clang first: nothing must compete with
    // its start for the CPU.
    StartedCompile first = start_compile(clang, source, tmp_object, compile_flags, pch);
    std::future<SourceDocs> docs_job = std::async(std::launch::async, [&] {
      docs_pch = pch_for_doc_reader(reader, pch, vmlinux_header, pch_prefix, pch_cflags);
      return extract_docs(source.string(), cflags, docs_pch.string(), headers);
    });
    compiled = finish_compile(first, clang, source, tmp_object, compile_flags, pch, options.verbose);
    try {
      docs = docs_job.get();
    } catch (const Error&) {
      if (compiled.exit_code == 0) throw;  // else clang's errors say more
    }
  }
  if (options.verbose && compiled.exit_code == 0)
    std::cerr << (docs.read_with_pch ? "ecc: doc comments read with " + docs_pch.string() + "\n"
                                     : std::string("ecc: doc comments read without a PCH\n"));
  if (compiled.exit_code != 0) {
    if (compiled.output.find("cannot run") == 0)
      throw Error(compiled.output + " (install clang, or choose one with --clang or $CLANG)");
    throw Error("cannot compile " + options.source.string() + isa_hint(clang, compiled.output), compiled.output);
  }

  // A type still missing (a union, a struct the scan did not see): compile
  // again through a wrapper that names each such type in an unused function.
  std::vector<std::string> exported;
  for (const auto& [map, type] : docs.event_types)
    if (std::find(exported.begin(), exported.end(), type) == exported.end()) exported.push_back(type);
  for (const auto& s : docs.header_structs)
    if (std::find(exported.begin(), exported.end(), "struct " + s) == exported.end()) exported.push_back("struct " + s);
  std::string object = read_file(tmp_object);
  std::string obj_name = btf::object_name_for(name + ".bpf.o");
  std::vector<std::string> missing;
  package::Package pkg;
  pkg.meta = btf::describe_object(object, obj_name, exported, &missing);
  if (!missing.empty()) {
    std::filesystem::path wrapper = tmp_object;
    wrapper += ".keep.c";
    temporaries.paths.push_back(wrapper);
    std::string text = "/* generated by ecc: keeps the event types in BTF */\n#include \"" + source.string() + "\"\n";
    text += keep_functions("__ecli_keep_missing_type_", missing);
    write_file_atomic(wrapper, text);
    ProcessResult again = compile(clang, wrapper, tmp_object, compile_flags, pch, options.verbose);
    if (again.exit_code == 0) {
      object = read_file(tmp_object);
      missing.clear();
      pkg.meta = btf::describe_object(object, obj_name, exported, &missing);
    }
  }
  if (!compiled.output.empty() && !options.quiet) std::cerr << compiled.output;  // clang warnings
  for (const auto& w : docs.warnings) std::cerr << w << "\n";

  say("Packing ebpf object and config into package.json...");
  for (const auto& type : missing)
    std::cerr << "ecc: warning: " << type << " is not in the object's BTF, so its events cannot be decoded\n";
  merge_docs(pkg.meta, docs);
  if (!docs.field_formats.empty()) pkg.meta.extra_meta["field_formats"] = docs.field_formats;  // `@format` on fields
  if (!docs.stack_fields.empty()) pkg.meta.extra_meta["stack_fields"] = docs.stack_fields;  // stack_fields.hpp
  check_sampled_maps(object, pkg.meta, docs);
  pkg.meta.eunomia_version = std::string("ecli ") + ECLI_VERSION;
  pkg.object = std::move(object);

  EccResult result{out_dir / "package.json", object_path};
  write_file_atomic(result.object_path, pkg.object);
  write_file_atomic(result.package_path, package::write_package(pkg));
  return result;
}

}  // namespace ecli::compiler
