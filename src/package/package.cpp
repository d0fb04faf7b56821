#include "package/package.hpp"

#include <elf.h>

#include <cstring>

#include "package/codec.hpp"
#include "util/error.hpp"

namespace ecli::package {
namespace {

// Field access with error messages that name the path in the document.
class Reader {
 public:
  Reader(const Json& node, std::string path) : node_(node), path_(std::move(path)) {}

  std::string str(const char* key, bool required = false) const {
    auto it = node_.find(key);
    if (it == node_.end() || it->is_null()) {
      if (required) throw Error("package is missing " + at(key));
      return {};
    }
    if (!it->is_string()) throw Error("package field " + at(key) + " must be a string");
    return it->get<std::string>();
  }
  bool boolean(const char* key, bool fallback) const {
    auto it = node_.find(key);
    if (it == node_.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) throw Error("package field " + at(key) + " must be true or false");
    return it->get<bool>();
  }
  uint64_t number(const char* key, bool required = false) const {
    auto it = node_.find(key);
    if (it == node_.end() || it->is_null()) {
      if (required) throw Error("package is missing " + at(key));
      return 0;
    }
    if (!it->is_number_unsigned() && !(it->is_number_integer() && it->get<int64_t>() >= 0))
      throw Error("package field " + at(key) + " must be a non-negative integer");
    return it->get<uint64_t>();
  }
  uint32_t u32(const char* key) const {
    uint64_t value = number(key);
    if (value > UINT32_MAX) throw Error("package field " + at(key) + " is too large");
    return static_cast<uint32_t>(value);
  }
  Json any(const char* key) const {
    auto it = node_.find(key);
    return it == node_.end() ? Json() : *it;
  }
  // A list where `null` or a missing key means empty (DESIGN.md §5).
  template <typename F>
  void each(const char* key, F&& f) const {
    auto it = node_.find(key);
    if (it == node_.end() || it->is_null()) return;
    if (!it->is_array()) throw Error("package field " + at(key) + " must be a list");
    for (size_t i = 0; i < it->size(); i++) {
      const Json& item = (*it)[i];
      std::string item_path = at(key) + "[" + std::to_string(i) + "]";
      if (!item.is_object()) throw Error("package field " + item_path + " must be an object");
      f(Reader(item, item_path));
    }
  }
  Reader child(const char* key, bool required) const {
    auto it = node_.find(key);
    if (it == node_.end() || it->is_null()) {
      if (required) throw Error("package is missing " + at(key));
      return Reader(empty(), at(key));
    }
    if (!it->is_object()) throw Error("package field " + at(key) + " must be an object");
    return Reader(*it, at(key));
  }
  bool present() const { return !node_.empty(); }
  // The keys not listed in `known`, kept for round trips.
  Json rest(std::initializer_list<const char*> known) const {
    Json out = Json::object();
    for (auto& [k, v] : node_.items()) {
      bool is_known = false;
      for (const char* name : known) is_known |= k == name;
      if (!is_known) out[k] = v;
    }
    return out;
  }

 private:
  static const Json& empty() {
    static const Json e = Json::object();
    return e;
  }
  std::string at(const char* key) const { return path_.empty() ? key : path_ + "." + key; }
  const Json& node_;
  std::string path_;
};

void merge_into(Json& out, const Json& extra) {
  if (!extra.is_object()) return;
  for (auto& [k, v] : extra.items())
    if (!out.contains(k)) out[k] = v;
}

uint32_t id_value(const Json& value, const std::string& path) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0))
    throw Error("package field " + path + " must be a non-negative integer");
  uint64_t v = value.get<uint64_t>();
  if (v > UINT32_MAX) throw Error("package field " + path + " is too large");
  return static_cast<uint32_t>(v);
}

}  // namespace

ExportConfig export_config_from_json(const Json& value, const std::string& path) {
  ExportConfig out;
  if (value.is_null()) return out;
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s == "NoExport" || s == "no_export") out.kind = ExportConfig::Kind::NoExport;
    else if (s == "Default" || s == "default") out.kind = ExportConfig::Kind::Default;
    else throw Error("package field " + path + " is \"" + s + "\"; expected \"NoExport\", {\"btf_type_id\": N} or {\"custom_members\": [...]}");
    return out;
  }
  if (value.is_object() && value.size() == 1) {
    auto first = value.begin();
    const std::string key = first.key();
    const Json& inner = first.value();
    std::string at = path + "." + key;
    if (key == "btf_type_id" || key == "ExportUseBtf" || key == "export_use_btf") {
      out.kind = ExportConfig::Kind::BtfTypeId;
      out.btf_type_id = id_value(inner, at);
      return out;
    }
    if (key == "custom_members" || key == "ExportUseCustomMembers" || key == "export_use_custom_members") {
      out.kind = ExportConfig::Kind::CustomMembers;
      if (!inner.is_array()) throw Error("package field " + at + " must be a list");
      for (size_t i = 0; i < inner.size(); i++) {
        std::string item = at + "[" + std::to_string(i) + "]";
        const Json& m = inner[i];
        if (!m.is_object()) throw Error("package field " + item + " must be an object");
        auto name = m.find("name");
        if (name == m.end() || !name->is_string()) throw Error("package field " + item + ".name must be a string");
        if (!m.contains("offset")) throw Error("package is missing " + item + ".offset");
        if (!m.contains("btf_type_id")) throw Error("package is missing " + item + ".btf_type_id");
        out.members.push_back({name->get<std::string>(), id_value(m["offset"], item + ".offset"),
                               id_value(m["btf_type_id"], item + ".btf_type_id")});
      }
      return out;
    }
  }
  throw Error("package field " + path +
              " must be \"NoExport\", {\"btf_type_id\": N} or {\"custom_members\": [{\"name\", \"offset\", "
              "\"btf_type_id\"}, ...]}");
}

Json export_config_to_json(const ExportConfig& config) {
  switch (config.kind) {
    case ExportConfig::Kind::Default:
      return nullptr;
    case ExportConfig::Kind::NoExport:
      return "NoExport";
    case ExportConfig::Kind::BtfTypeId:
      return Json{{"btf_type_id", config.btf_type_id}};
    case ExportConfig::Kind::CustomMembers: {
      Json members = Json::array();
      for (const auto& m : config.members)
        members.push_back({{"name", m.name}, {"offset", m.offset}, {"btf_type_id", m.btf_type_id}});
      return Json{{"custom_members", std::move(members)}};
    }
  }
  return nullptr;
}

void check_bpf_elf(std::string_view object, const std::string& what) {
  if (object.size() < sizeof(Elf64_Ehdr) || std::memcmp(object.data(), ELFMAG, SELFMAG) != 0)
    throw Error(what + " is not an ELF file");
  Elf64_Ehdr header;
  std::memcpy(&header, object.data(), sizeof header);
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_machine != EM_BPF)
    throw Error(what + " is an ELF file but not a BPF object (compile it with clang -target bpf)");
  if (header.e_type != ET_REL) throw Error(what + " is not a relocatable BPF object (.o)");
}

Meta meta_from_json(const Json& meta_json) {
  Reader meta(meta_json, "meta");
  Meta out;
  Reader skel = meta.child("bpf_skel", false);
  out.obj_name = skel.str("obj_name");
  skel.each("data_sections", [&](const Reader& sec) {
    DataSection section{sec.str("name", true), {}};
    sec.each("variables", [&](const Reader& var) {
      Variable v;
      v.name = var.str("name", true);
      v.type = var.str("type");
      v.description = var.str("description");
      v.cmdarg = var.any("cmdarg");
      if (!v.cmdarg.is_null() && !v.cmdarg.is_object())
        throw Error("package field cmdarg of variable " + v.name + " must be an object");
      v.extra = var.rest({"name", "type", "description", "cmdarg"});
      section.variables.push_back(std::move(v));
    });
    out.data_sections.push_back(std::move(section));
  });
  size_t map_index = 0;
  skel.each("maps", [&](const Reader& m) {
    Map map;
    map.name = m.str("name", true);
    map.ident = m.str("ident");
    if (map.ident.empty()) map.ident = map.name;
    map.mmaped = m.boolean("mmaped", false);
    map.sample = m.any("sample");
    map.export_config = export_config_from_json(
        m.any("export_config"), "meta.bpf_skel.maps[" + std::to_string(map_index++) + "].export_config");
    map.extra = m.rest({"name", "ident", "mmaped", "sample", "export_config"});
    out.maps.push_back(std::move(map));
  });
  skel.each("progs", [&](const Reader& p) {
    Prog prog;
    prog.name = p.str("name", true);
    prog.attach = p.str("attach");
    prog.link = p.boolean("link", true);
    prog.extra = p.rest({"name", "attach", "link"});
    out.progs.push_back(std::move(prog));
  });
  if (Reader doc = skel.child("doc", false); doc.present())
    out.doc = Doc{doc.str("version"), doc.str("brief"), doc.str("details"), doc.str("description")};
  out.extra_skel = skel.rest({"obj_name", "data_sections", "maps", "progs", "doc"});

  meta.each("export_types", [&](const Reader& t) {
    ExportType type;
    type.name = t.str("name", true);
    t.each("members", [&](const Reader& m) { type.members.push_back({m.str("name", true), m.str("type")}); });
    type.size = t.u32("size");
    type.type_id = t.u32("type_id");
    out.export_types.push_back(std::move(type));
  });
  // ecc's stack_fields (TYPE -> FIELD -> {kind, user, build_id, map, size_field})
  // stays in extra_meta for the stack resolver; its values are checked here.
  if (auto it = meta_json.find("stack_fields"); it != meta_json.end() && it->is_object()) {
    for (const auto& [type, fields] : it->items()) {
      if (!fields.is_object()) continue;
      for (const auto& [field, info] : fields.items()) {
        if (!info.is_object()) continue;
        Reader spec(info, "meta.stack_fields." + type + "." + field);
        for (const char* key : {"kind", "map", "size_field"}) spec.str(key);
        for (const char* key : {"user", "build_id"}) spec.boolean(key, false);
      }
    }
  }
  out.eunomia_version = meta.str("eunomia_version");
  out.enable_multiple_export_types = meta.boolean("enable_multiple_export_types", false);
  out.extra_meta = meta.rest({"bpf_skel", "export_types", "eunomia_version", "enable_multiple_export_types"});
  return out;
}

Json meta_to_json(const Meta& meta) {
  Json skel = Json::object();
  skel["obj_name"] = meta.obj_name;
  Json sections = Json::array();
  for (auto& sec : meta.data_sections) {
    Json vars = Json::array();
    for (auto& v : sec.variables) {
      Json var = {{"name", v.name}, {"type", v.type}};
      if (!v.description.empty()) var["description"] = v.description;
      if (!v.cmdarg.is_null()) var["cmdarg"] = v.cmdarg;
      merge_into(var, v.extra);
      vars.push_back(std::move(var));
    }
    sections.push_back({{"name", sec.name}, {"variables", std::move(vars)}});
  }
  skel["data_sections"] = std::move(sections);
  Json maps = Json::array();
  for (auto& m : meta.maps) {
    Json map = {{"name", m.name}, {"ident", m.ident}};
    if (m.mmaped) map["mmaped"] = true;
    if (!m.sample.is_null()) map["sample"] = m.sample;
    merge_into(map, m.extra);
    if (Json config = export_config_to_json(m.export_config); !config.is_null()) map["export_config"] = std::move(config);
    maps.push_back(std::move(map));
  }
  skel["maps"] = std::move(maps);
  Json progs = Json::array();
  for (auto& p : meta.progs) {
    Json prog = {{"name", p.name}, {"attach", p.attach}, {"link", p.link}};
    merge_into(prog, p.extra);
    progs.push_back(std::move(prog));
  }
  skel["progs"] = std::move(progs);
  if (meta.doc) {
    skel["doc"] = {{"version", meta.doc->version},
                   {"brief", meta.doc->brief},
                   {"details", meta.doc->details},
                   {"description", meta.doc->description}};
  }
  merge_into(skel, meta.extra_skel);

  Json types = Json::array();
  for (auto& t : meta.export_types) {
    Json members = Json::array();
    for (auto& m : t.members) members.push_back({{"name", m.name}, {"type", m.type}});
    types.push_back({{"name", t.name}, {"members", std::move(members)}, {"size", t.size}, {"type_id", t.type_id}});
  }
  Json out = {{"bpf_skel", std::move(skel)}, {"export_types", std::move(types)},
              {"eunomia_version", meta.eunomia_version}};
  if (meta.enable_multiple_export_types) out["enable_multiple_export_types"] = true;
  merge_into(out, meta.extra_meta);
  return out;
}

Package parse_package(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) throw Error("package is empty");
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at line 1, column 2: ...".
    std::string what = e.what();
    auto pos = what.find("parse error");
    throw Error("package is not valid JSON: " + (pos == std::string::npos ? what : what.substr(pos)));
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but still bad text: a number too large for a double
    // ("number overflow parsing '1e999'", out_of_range.406; found by fuzzing).
    std::string what = e.what();
    auto end = what.find("] ");
    throw Error("package is not valid JSON: " + (end == std::string::npos ? what : what.substr(end + 2)));
  }
  if (!doc.is_object()) throw Error("package must be a JSON object");
  Reader top(doc, "");
  std::string encoded = top.str("bpf_object", true);
  uint64_t size = top.number("bpf_object_size");

  Package package;
  std::string raw = base64_decode(encoded);
  if (raw.empty()) throw Error("package has an empty bpf_object");
  if (raw.size() >= SELFMAG && std::memcmp(raw.data(), ELFMAG, SELFMAG) == 0) {
    package.object = std::move(raw);  // an uncompressed object: accept it, check the size if given
    if (size && size != package.object.size())
      throw Error("bpf_object is " + std::to_string(package.object.size()) + " bytes but bpf_object_size says " +
                  std::to_string(size));
  } else {
    if (!size) throw Error("package is missing bpf_object_size");
    package.object = zlib_decompress(raw, size);
  }
  check_bpf_elf(package.object, "the package's bpf_object");
  package.meta = meta_from_json(top.child("meta", false).present() ? doc["meta"] : Json::object());
  package.extra = top.rest({"bpf_object", "bpf_object_size", "meta"});
  return package;
}

std::string write_package(const Package& package) {
  Json doc = {{"bpf_object", base64_encode(zlib_compress(package.object))},
              {"bpf_object_size", package.object.size()},
              {"meta", meta_to_json(package.meta)}};
  merge_into(doc, package.extra);
  return doc.dump(2) + "\n";
}

}  // namespace ecli::package
