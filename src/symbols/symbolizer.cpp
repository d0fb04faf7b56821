#include "symbols/symbolizer.hpp"

namespace ecli::symbols {

struct Symbolizer::Impl {
  SymbolizerOptions options;
  std::vector<Frame> unknown{Frame{}};
};

Symbolizer::Symbolizer(SymbolizerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}
Symbolizer::~Symbolizer() = default;
const std::vector<Frame>& Symbolizer::kernel(uint64_t) { return impl_->unknown; }
const std::vector<Frame>& Symbolizer::user(uint32_t, uint64_t) { return impl_->unknown; }
const std::vector<Frame>& Symbolizer::user_by_build_id(std::string_view, uint64_t) { return impl_->unknown; }
void Symbolizer::remember_process(uint32_t) {}

}  // namespace ecli::symbols
