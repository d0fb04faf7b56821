#pragma once
// The geometry of a flame graph (issue 10), apart from its SVG so that tests
// can check it: one box per frame, "all" at depth 0, children sorted by name
// and laid out left to right inside their parent, widths proportional to counts.
#include <cstdint>
#include <string>
#include <vector>

namespace ecli::output {

class FoldedStacks;

namespace flamegraph {

struct Box {
  std::string name;  // the frame's name as folded ("all" for the root)
  int depth = 0;     // 0 for the root, 1 for the comm or outermost frame, ...
  double x = 0;      // pixels from the left edge of the drawing area
  double width = 0;  // pixels
  uint64_t count = 0;
};

// Boxes in depth-first order (a parent before its children), for a drawing
// area `width` pixels wide. Boxes narrower than `min_width` (and their
// children) are dropped. Empty input gives no boxes.
std::vector<Box> layout(const FoldedStacks& stacks, double width, double min_width = 0.1);

}  // namespace flamegraph
}  // namespace ecli::output
