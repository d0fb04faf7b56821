#pragma once
// Printing stacks (issue 10): under a table row one frame per line, in JSON
// as an array of frame objects, in CSV as one cell; folded into
// "comm;outer;...;inner COUNT" lines (flamegraph.pl's and speedscope's input);
// and drawn as an interactive SVG flame graph. Frames come resolved from
// symbols::Symbolizer; nothing here knows libbpf.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "output/event_format.hpp"
#include "symbols/symbolizer.hpp"

namespace ecli::output {

// One collected stack, resolved: innermost frame first, as the kernel collects them.
struct Stack {
  std::vector<symbols::Frame> frames;
  bool kernel = false;  // kernel frames (else user)
  std::string lost;     // why there is no stack ("stack map full (-EEXIST)"); frames are then empty
};

// "do_sys_openat2+0x1a [kernel]", "inner_loop+0x12 [burn]" (+ " (burn.c:12)" when
// the frame has a line), "burn+0x1130" without a symbol, "[unknown] 0x7f12..." when nothing is known.
void append_frame_text(Buffer& out, const symbols::Frame& frame);
// Table: one line per frame, each `indent` spaces in, ending in '\n'; a lost
// stack is one line "[lost: REASON]"; an empty stack "[empty stack]".
void append_stack_lines(Buffer& out, const Stack& stack, int indent);
// JSON: [{"address": "0x...", "symbol": "...", "offset": N, "module": "...",
// "file": "...", "line": N, "inlined": true}, ...] innermost first; unknown
// parts are left out; a lost stack is {"lost": "REASON"}.
void append_stack_json(Buffer& out, const Stack& stack);
// CSV and other one-cell forms: frames joined by ';', innermost first.
void append_stack_cell(Buffer& out, const Stack& stack);
// The name a frame has in folded stacks and flame graphs: the symbol (no
// offset), else "module+0xOFFSET", else "[unknown]"; ';' and spaces that
// would break the folded format are replaced.
std::string folded_frame_name(const symbols::Frame& frame);

// Folded stacks: identical stacks are added up.
class FoldedStacks {
 public:
  // `stacks` in the order they nest, outermost first (a user stack, then the
  // kernel stack it called into); each stack's frames innermost first as
  // collected. The line is "comm;outer frame;...;inner frame" (comm left out
  // when empty). Lost stacks add one "[lost: REASON]" frame.
  void add(std::string_view comm, const std::vector<const Stack*>& stacks, uint64_t count);
  // A line already folded ("a;b;c"), for tests and merging.
  void add_folded(std::string_view line, uint64_t count);
  // "LINE COUNT\n" per unique stack, sorted by line.
  void write(Buffer& out) const;
  const std::map<std::string, uint64_t>& counts() const { return counts_; }
  uint64_t total() const { return total_; }
  // What the counts are: "samples" (one per event or sample), or the name of
  // the map value's field they were read from ("bytes", "delta").
  const std::string& unit() const { return unit_; }
  void set_unit(std::string unit) { unit_ = std::move(unit); }
  bool empty() const { return counts_.empty(); }

 private:
  std::map<std::string, uint64_t> counts_;
  uint64_t total_ = 0;
  std::string unit_ = "samples";
};

struct FlameGraphOptions {
  std::string title = "Flame Graph";
  std::string count_name = "samples";  // "samples", "us", "bytes": shown in tooltips
  int width = 1200;                    // pixels
};

// A flame graph as flamegraph.pl draws it (root at the bottom, children
// sorted by name, widths proportional to counts), self-contained and
// interactive: tooltips (<title>), click to zoom, Ctrl-F / a button to
// search, all in inline JavaScript. No Perl needed.
std::string flamegraph_svg(const FoldedStacks& stacks, const FlameGraphOptions& options);

}  // namespace ecli::output
