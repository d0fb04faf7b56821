// libFuzzer target: the CO-RE roots of an object's .BTF/.BTF.ext and the cut
// of a kernel BTF (btf/core_subset.hpp). Object sections come from packages,
// so they may be hostile. The input is a little-endian u32 length L, then L
// bytes read as .BTF, then the rest as .BTF.ext; the .BTF also serves as the
// "kernel" BTF, cut to the roots of its own first named types. Whatever cut
// comes out must be BTF that libbpf reads, holding a type of every root name.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fuzz_input.hpp"
#include "btf/core_subset.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ecli::fuzz::silence_libbpf();
  if (size < 4) return 0;
  uint32_t split = ecli::fuzz::leading_u32(data);
  std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);
  split = static_cast<uint32_t>(split % (rest.size() + 1));
  std::string_view btf_bytes = rest.substr(0, split), ext = rest.substr(split);

  if (auto roots = ecli::btf::core_roots(btf_bytes, ext))
    for (const auto& name : roots->names)
      if (name.empty()) std::abort();  // unnamed roots must mean "use the full BTF"

  struct btf* kernel = btf__new(btf_bytes.data(), btf_bytes.size());
  ecli::btf::CoreRoots roots{{}, (split & 1) != 0};
  if (kernel) {
    for (uint32_t id = 1; id < btf__type_cnt(kernel) && roots.names.size() < 3; id++) {
      const char* name = btf__name_by_offset(kernel, btf__type_by_id(kernel, id)->name_off);
      uint16_t kind = btf_kind(btf__type_by_id(kernel, id));
      if (name && *name && kind != BTF_KIND_FUNC && kind != BTF_KIND_FUNC_PROTO && kind != BTF_KIND_VAR &&
          kind != BTF_KIND_DATASEC && kind != BTF_KIND_DECL_TAG)
        roots.names.emplace_back(ecli::btf::essential_name(name));
    }
  }
  if (roots.names.empty()) roots.names.push_back("task_struct");
  auto cut = ecli::btf::core_subset(btf_bytes, roots);
  if (cut && kernel) {
    // What libbpf accepted, cut, libbpf must accept too, with every root in it.
    struct btf* out = btf__new(cut->data(), cut->size());
    if (!out) std::abort();
    for (const auto& name : roots.names) {
      bool found = false;
      for (uint32_t id = 1; id < btf__type_cnt(out) && !found; id++) {
        const char* n = btf__name_by_offset(out, btf__type_by_id(out, id)->name_off);
        found = n && ecli::btf::essential_name(n) == name;
      }
      if (!found) std::abort();
    }
    btf__free(out);
  }
  btf__free(kernel);
  return 0;
}
