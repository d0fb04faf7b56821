// libFuzzer target: the render-plan builder over arbitrary BTF. The input is
// a little-endian u32 choosing the type (modulo the type count), then the raw
// BTF that btf__new parses. Whatever plan comes out must also print a row of
// the event bytes that follow nothing (an all-zero, padded event) in every
// output format, since ecli prints events of packages it did not build.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "fuzz_input.hpp"
#include "btf/render_plan.hpp"
#include "output/event_format.hpp"
#include "util/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ecli::fuzz::silence_libbpf();
  if (size < 4) return 0;
  uint32_t choice = ecli::fuzz::leading_u32(data);
  struct btf* btf = btf__new(data + 4, size - 4);
  if (!btf) return 0;
  uint32_t count = btf__type_cnt(btf);
  uint32_t type_id = count > 1 ? 1 + choice % (count - 1) : 1;
  try {
    ecli::btf::RenderPlan plan = ecli::btf::build_render_plan(btf, type_id);
    static const std::vector<uint8_t> zeros(4096);
    size_t event_size = plan.size < zeros.size() ? plan.size : zeros.size();
    for (auto format : {ecli::output::Format::Table, ecli::output::Format::Json, ecli::output::Format::Csv}) {
      ecli::output::StreamFormat stream{"events", plan, {}, {}};
      std::vector<ecli::output::StreamFormat> streams{stream};
      ecli::output::choose_columns(streams, {});
      ecli::output::EventWriter writer(format, streams);
      ecli::output::Buffer out;
      writer.header(out);
      writer.row(out, "00:00:00", 0, zeros.data(), event_size);
    }
  } catch (const ecli::Error&) {
  }
  btf__free(btf);
  return 0;
}
