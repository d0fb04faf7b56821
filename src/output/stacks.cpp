#include "output/stacks.hpp"

#include "output/flamegraph_layout.hpp"

namespace ecli::output {

void append_frame_text(Buffer&, const symbols::Frame&) {}
void append_stack_lines(Buffer&, const Stack&, int) {}
void append_stack_json(Buffer&, const Stack&) {}
void append_stack_cell(Buffer&, const Stack&) {}
std::string folded_frame_name(const symbols::Frame&) { return {}; }
void FoldedStacks::add(std::string_view, const std::vector<const Stack*>&, uint64_t) {}
void FoldedStacks::add_folded(std::string_view, uint64_t) {}
void FoldedStacks::write(Buffer&) const {}
std::string flamegraph_svg(const FoldedStacks&, const FlameGraphOptions&) { return {}; }
namespace flamegraph {
std::vector<Box> layout(const FoldedStacks&, double, double) { return {}; }
}  // namespace flamegraph

}  // namespace ecli::output
