#include "output/stacks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iterator>

#include "output/flamegraph_layout.hpp"

namespace ecli::output {
namespace {

std::string_view basename(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// Keeps a name on its folded line: ';' separates frames and a control
// character (a newline above all) would end the line. Spaces stay: readers
// of folded stacks take the count after the last space.
void append_folded_safe(std::string& out, std::string_view name) {
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    if (c == ';')
      out.push_back(':');
    else if (c < 0x20 || c == 0x7f)
      out.push_back('?');
    else
      out.push_back(ch);
  }
}

void append_lost(std::string& out, std::string_view reason) {
  out += "[lost: ";
  append_folded_safe(out, reason);
  out.push_back(']');
}

void append_folded_name(std::string& out, const symbols::Frame& frame) {
  if (!frame.symbol.empty()) {
    append_folded_safe(out, frame.symbol);
  } else if (!frame.module.empty()) {
    append_folded_safe(out, frame.module);
    fmt::format_to(std::back_inserter(out), "+0x{:x}", frame.offset);
  } else {
    out += "[unknown]";
  }
}

}  // namespace

// Inlined frames have no start address of their own, so an offset of 0 is
// left out for them ("inner_loop [burn] (burn.c:12) (inlined)").
void append_frame_text(Buffer& out, const symbols::Frame& frame) {
  auto it = std::back_inserter(out);
  if (!frame.symbol.empty()) {
    append(out, frame.symbol);
    if (frame.offset || !frame.inlined) fmt::format_to(it, "+0x{:x}", frame.offset);
    if (!frame.module.empty()) fmt::format_to(it, " [{}]", frame.module);
  } else if (!frame.module.empty()) {
    fmt::format_to(it, "{}+0x{:x}", frame.module, frame.offset);
  } else {
    fmt::format_to(it, "[unknown] 0x{:x}", frame.address);
  }
  if (!frame.file.empty() && frame.line > 0) fmt::format_to(it, " ({}:{})", basename(frame.file), frame.line);
  if (frame.inlined) append(out, " (inlined)");
}

void append_stack_lines(Buffer& out, const Stack& stack, int indent) {
  auto pad = [&] { fmt::format_to(std::back_inserter(out), "{:{}}", "", std::max(indent, 0)); };
  if (!stack.lost.empty()) {
    pad();
    fmt::format_to(std::back_inserter(out), "[lost: {}]\n", stack.lost);
    return;
  }
  if (stack.frames.empty()) {
    pad();
    append(out, "[empty stack]\n");
    return;
  }
  for (const auto& frame : stack.frames) {
    pad();
    append_frame_text(out, frame);
    out.push_back('\n');
  }
}

void append_stack_json(Buffer& out, const Stack& stack) {
  auto it = std::back_inserter(out);
  if (!stack.lost.empty()) {
    append(out, "{\"lost\":");
    append_json_string(out, stack.lost);
    out.push_back('}');
    return;
  }
  out.push_back('[');
  bool first = true;
  for (const auto& frame : stack.frames) {
    if (!first) out.push_back(',');
    first = false;
    fmt::format_to(it, "{{\"address\":\"0x{:x}\"", frame.address);
    if (!frame.symbol.empty()) {
      append(out, ",\"symbol\":");
      append_json_string(out, frame.symbol);
    }
    if (!frame.symbol.empty() || !frame.module.empty()) fmt::format_to(it, ",\"offset\":{}", frame.offset);
    if (!frame.module.empty()) {
      append(out, ",\"module\":");
      append_json_string(out, frame.module);
    }
    if (!frame.file.empty()) {
      append(out, ",\"file\":");
      append_json_string(out, frame.file);
    }
    if (frame.line > 0) fmt::format_to(it, ",\"line\":{}", frame.line);
    if (frame.inlined) append(out, ",\"inlined\":true");
    out.push_back('}');
  }
  out.push_back(']');
}

// The frames' texts as append_frame_text writes them (offsets, modules and
// lines included), joined by ';'; a lost stack is "[lost: REASON]" and an
// empty stack an empty cell. Quoting the cell is the caller's business.
void append_stack_cell(Buffer& out, const Stack& stack) {
  if (!stack.lost.empty()) {
    fmt::format_to(std::back_inserter(out), "[lost: {}]", stack.lost);
    return;
  }
  for (size_t i = 0; i < stack.frames.size(); i++) {
    if (i) out.push_back(';');
    append_frame_text(out, stack.frames[i]);
  }
}

std::string folded_frame_name(const symbols::Frame& frame) {
  std::string name;
  append_folded_name(name, frame);
  return name;
}

// Per sample this allocates nothing once the scratch line has grown and the
// stack has been seen before.
void FoldedStacks::add(std::string_view comm, const std::vector<const Stack*>& stacks, uint64_t count) {
  static thread_local std::string line;
  line.clear();
  auto separate = [&] {
    if (!line.empty()) line.push_back(';');
  };
  if (!comm.empty()) append_folded_safe(line, comm);
  for (const Stack* stack : stacks) {
    if (!stack) continue;
    if (!stack->lost.empty()) {
      separate();
      append_lost(line, stack->lost);
      continue;
    }
    for (auto frame = stack->frames.rbegin(); frame != stack->frames.rend(); ++frame) {
      separate();
      append_folded_name(line, *frame);
    }
  }
  if (line.empty()) line = "[empty stack]";
  add_folded(line, count);
}

void FoldedStacks::add_folded(std::string_view line, uint64_t count) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (count == 0 || line.empty()) return;
  static thread_local std::string key;  // the map's keys are std::string: look up without a new one
  key.assign(line);
  auto found = counts_.find(key);
  if (found == counts_.end()) found = counts_.emplace(key, 0).first;
  found->second += count;
  total_ += count;
}

void FoldedStacks::write(Buffer& out) const {
  auto it = std::back_inserter(out);
  for (const auto& [line, count] : counts_) fmt::format_to(it, "{} {}\n", line, count);
}

// Flame graphs ---------------------------------------------------------------

namespace flamegraph {
namespace {

// The folded lines as a tree: children by name, so that they come sorted.
struct Node {
  uint64_t count = 0;
  std::map<std::string, Node, std::less<>> children;
};

void place(const std::string& name, const Node& node, int depth, double x, double scale, double min_width,
           std::vector<Box>& boxes) {
  double width = static_cast<double>(node.count) * scale;
  if (width < min_width) return;
  boxes.push_back(Box{name, depth, x, width, node.count});
  uint64_t before = 0;  // counts of the children to the left: no drift from adding up widths
  for (const auto& [child_name, child] : node.children) {
    place(child_name, child, depth + 1, x + static_cast<double>(before) * scale, scale, min_width, boxes);
    before += child.count;
  }
}

}  // namespace

std::vector<Box> layout(const FoldedStacks& stacks, double width, double min_width) {
  Node root;
  for (const auto& [line, count] : stacks.counts()) {
    root.count += count;
    Node* node = &root;
    std::string_view rest = line;
    for (;;) {
      size_t semi = rest.find(';');
      std::string_view frame = rest.substr(0, semi);
      auto found = node->children.find(frame);
      if (found == node->children.end()) found = node->children.emplace(std::string(frame), Node{}).first;
      node = &found->second;
      node->count += count;
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  std::vector<Box> boxes;
  if (root.count == 0 || !(width > 0)) return boxes;
  place("all", root, 0, 0.0, width / static_cast<double>(root.count), min_width, boxes);
  return boxes;
}

}  // namespace flamegraph

namespace {

constexpr double kXPad = 10;          // left and right margins
constexpr double kFrameHeight = 16;
constexpr double kFontSize = 12;
constexpr double kFontWidth = 0.59;   // average character width, in font sizes
constexpr double kTopPad = kFontSize * 3;       // the title, "Reset Zoom", "Search"
constexpr double kBottomPad = kFontSize * 2 + 10;  // the details line, "Matched:"

// Text for XML content and attribute values: the five special characters as
// entities; bytes that are not well-formed UTF-8 read as Latin-1 (as JSON
// output does) and characters XML does not allow as '?'.
void append_xml(Buffer& out, std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': append(out, "&amp;"); break;
        case '<': append(out, "&lt;"); break;
        case '>': append(out, "&gt;"); break;
        case '"': append(out, "&quot;"); break;
        case '\'': append(out, "&apos;"); break;
        default: out.push_back(c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c));
      }
      i++;
      continue;
    }
    size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    bool valid = len && i + len <= text.size();
    for (size_t k = 1; valid && k < len; k++) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && cp >= kMin[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) && cp != 0xfffe &&
            cp != 0xffff;
    if (valid) {
      out.append(text.data() + i, text.data() + i + len);
      i += len;
    } else {  // Latin-1: U+0080..U+00FF in two bytes
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
      i++;
    }
  }
}

// As much of `name` as fits in `width` pixels: all of it, a prefix and "..",
// or nothing when not even three characters fit.
void append_fitted(Buffer& out, std::string_view name, double width) {
  auto chars = static_cast<size_t>(width / (kFontSize * kFontWidth));
  if (chars < 3) return;
  if (name.size() <= chars) return append_xml(out, name);
  size_t cut = chars - 2;
  while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xc0) == 0x80) cut--;  // not inside a character
  append_xml(out, name.substr(0, cut));
  append(out, "..");
}

// Warm colors (flamegraph.pl's "hot" palette), the same for the same name.
void append_color(Buffer& out, std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
  for (char ch : name) h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ull;
  h ^= h >> 33;  // spread the last characters over all bits ("loop1", "loop2" differ)
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  auto part = [&](int shift) { return static_cast<double>((h >> shift) & 0xffff) / 65535.0; };
  fmt::format_to(std::back_inserter(out), "rgb({},{},{})", 205 + static_cast<int>(50 * part(32)),
                 static_cast<int>(230 * part(0)), static_cast<int>(55 * part(16)));
}

void append_grouped(Buffer& out, uint64_t n) {  // 1234567 -> 1,234,567
  auto digits = fmt::format("{}", n);
  for (size_t i = 0; i < digits.size(); i++) {
    if (i && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
}

void append_svg_head(Buffer& out, int width, double height, std::string_view title) {
  auto it = std::back_inserter(out);
  fmt::format_to(it,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                 "<svg version=\"1.1\" width=\"{0}\" height=\"{1:.0f}\" viewBox=\"0 0 {0} {1:.0f}\" "
                 "xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
                 "<defs>\n<linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">\n"
                 "<stop stop-color=\"#eeeeee\" offset=\"5%\"/>\n<stop stop-color=\"#eeeeb0\" offset=\"95%\"/>\n"
                 "</linearGradient>\n</defs>\n"
                 "<style type=\"text/css\">\n"
                 "text {{ font-family: Verdana, sans-serif; font-size: {2:.0f}px; fill: rgb(0,0,0); }}\n"
                 "#title {{ text-anchor: middle; font-size: 17px; }}\n"
                 "#search, #unzoom {{ cursor: pointer; opacity: 0.7; }}\n"
                 "#search:hover, #unzoom:hover {{ opacity: 1; }}\n"
                 "#matched {{ text-anchor: end; }}\n"
                 "#frames > g {{ cursor: pointer; }}\n"
                 "#frames > g:hover > rect {{ stroke: rgb(0,0,0); stroke-width: 0.5; }}\n"
                 "#frames text {{ pointer-events: none; }}\n"
                 ".hide {{ display: none; }}\n"
                 ".parent {{ opacity: 0.5; }}\n"
                 "</style>\n"
                 "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1:.0f}\" fill=\"url(#background)\"/>\n"
                 "<text id=\"title\" x=\"{3:.1f}\" y=\"24\">",
                 width, height, kFontSize, width / 2.0);
  append_xml(out, title);
  append(out, "</text>\n");
}

// Zoom, search and the details line. Reads the frames from the SVG itself:
// each <g> of #frames holds a <title> ("NAME (N samples, P%)"), a <rect> and a <text>.
constexpr std::string_view kScript = R"JS(
(function () {
  "use strict";
  var frames = document.getElementById("frames");
  var details = document.getElementById("details");
  var unzoomButton = document.getElementById("unzoom");
  var searchButton = document.getElementById("search");
  var matched = document.getElementById("matched");
  var EPS = 0.02;  // coordinates are written with two decimals
  var HIGHLIGHT = "rgb(230,0,230)";
  var items = [];
  var searching = false;

  for (var i = 0; i < frames.childNodes.length; i++) {
    var g = frames.childNodes[i];
    if (g.nodeType !== 1) continue;
    var rect = g.getElementsByTagName("rect")[0];
    var title = g.getElementsByTagName("title")[0].textContent;
    g.fgIndex = items.length;
    items.push({
      g: g, rect: rect, text: g.getElementsByTagName("text")[0], title: title,
      name: title.replace(/ \([^()]*\)$/, ""),
      x: parseFloat(rect.getAttribute("x")) - XPAD,
      w: parseFloat(rect.getAttribute("width")),
      y: parseFloat(rect.getAttribute("y")),
      fill: rect.getAttribute("fill")
    });
  }

  function itemOf(node) {
    while (node && node !== frames) {
      if (node.parentNode === frames) return items[node.fgIndex];
      node = node.parentNode;
    }
    return null;
  }

  function fit(item, x, w) {
    item.rect.setAttribute("x", (XPAD + x).toFixed(2));
    item.rect.setAttribute("width", w.toFixed(2));
    item.text.setAttribute("x", (XPAD + x + 3).toFixed(2));
    var chars = Math.floor(w / (FONT_SIZE * FONT_WIDTH));
    var s = "";
    if (chars >= 3) s = item.name.length <= chars ? item.name : item.name.substring(0, chars - 2) + "..";
    item.text.textContent = s;
  }

  function show(item, visible, parent) {
    item.g.classList.toggle("hide", !visible);
    item.g.classList.toggle("parent", parent);
  }

  function unzoom() {
    items.forEach(function (it) { show(it, true, false); fit(it, it.x, it.w); });
    unzoomButton.classList.add("hide");
  }

  function zoom(target) {
    if (target === items[0]) return unzoom();
    var left = target.x, right = target.x + target.w, ratio = DRAW_WIDTH / target.w;
    items.forEach(function (it) {
      if (it.y > target.y) {  // nearer the root: kept, full width, if it holds the target
        var holds = it.x <= left + EPS && it.x + it.w >= right - EPS;
        show(it, holds, holds);
        if (holds) fit(it, 0, DRAW_WIDTH);
      } else if (it.x >= left - EPS && it.x + it.w <= right + EPS) {
        show(it, true, false);
        fit(it, (it.x - left) * ratio, it.w * ratio);
      } else {
        show(it, false, false);
      }
    });
    unzoomButton.classList.remove("hide");
  }

  function resetSearch() {
    items.forEach(function (it) { it.rect.setAttribute("fill", it.fill); });
    matched.textContent = "";
    searchButton.textContent = "Search";
    searching = false;
  }

  function search(term) {
    var re;
    try {
      re = new RegExp(term);
    } catch (e) {
      alert("Not a regular expression: " + e.message);
      return;
    }
    var hits = [];
    items.forEach(function (it) {
      var hit = re.test(it.name);
      it.rect.setAttribute("fill", hit ? HIGHLIGHT : it.fill);
      if (hit) hits.push(it);
    });
    // Frames inside a matched frame are counted once, with it.
    hits.sort(function (a, b) { return a.x - b.x || b.w - a.w; });
    var sum = 0, end = -Infinity;
    hits.forEach(function (it) {
      if (it.x + EPS >= end) { sum += it.w; end = it.x + it.w; }
    });
    searching = true;
    searchButton.textContent = "Reset Search";
    matched.textContent = "Matched: " + (100 * sum / DRAW_WIDTH).toFixed(1) + "%";
  }

  function askSearch() {
    var term = prompt("Search for frames (a regular expression, e.g. ^ext4_)", "");
    resetSearch();
    if (term) search(term);
  }

  frames.addEventListener("click", function (e) {
    var it = itemOf(e.target);
    if (it) zoom(it);
  });
  frames.addEventListener("mouseover", function (e) {
    var it = itemOf(e.target);
    if (it) details.textContent = it.title;
  });
  frames.addEventListener("mouseout", function () { details.textContent = ""; });
  unzoomButton.addEventListener("click", unzoom);
  searchButton.addEventListener("click", function () {
    if (searching) resetSearch();
    else askSearch();
  });
  window.addEventListener("keydown", function (e) {
    if (((e.ctrlKey || e.metaKey) && (e.key === "f" || e.key === "F")) || e.key === "F3") {
      e.preventDefault();
      askSearch();
    } else if (e.key === "Escape") {
      resetSearch();
    }
  });
})();
)JS";

}  // namespace

std::string flamegraph_svg(const FoldedStacks& stacks, const FlameGraphOptions& options) {
  int width = std::max(options.width, 200);
  double draw_width = width - 2 * kXPad;
  auto boxes = flamegraph::layout(stacks, draw_width, 0.1);
  Buffer out;
  auto it = std::back_inserter(out);
  if (boxes.empty()) {
    double height = kTopPad + kFrameHeight * 2 + kBottomPad;
    append_svg_head(out, width, height, options.title);
    fmt::format_to(it, "<text x=\"{:.1f}\" y=\"{:.0f}\" text-anchor=\"middle\">no samples</text>\n</svg>\n",
                   width / 2.0, kTopPad + kFrameHeight);
    return fmt::to_string(out);
  }
  int max_depth = 0;
  for (const auto& box : boxes) max_depth = std::max(max_depth, box.depth);
  double height = kTopPad + kFrameHeight * (max_depth + 1) + kBottomPad;
  append_svg_head(out, width, height, options.title);

  // Parentheses would end the name early where the script reads it from the title.
  std::string count_name = options.count_name;
  std::replace(count_name.begin(), count_name.end(), '(', '[');
  std::replace(count_name.begin(), count_name.end(), ')', ']');

  fmt::format_to(it,
                 "<text id=\"unzoom\" class=\"hide\" x=\"{0:.0f}\" y=\"24\">Reset Zoom</text>\n"
                 "<text id=\"search\" x=\"{1:.0f}\" y=\"24\">Search</text>\n"
                 "<text id=\"details\" x=\"{0:.0f}\" y=\"{2:.0f}\"> </text>\n"
                 "<text id=\"matched\" x=\"{3:.0f}\" y=\"{2:.0f}\"> </text>\n"
                 "<g id=\"frames\">\n",
                 kXPad, width - kXPad - 100, height - 17, width - kXPad);
  double total = static_cast<double>(boxes.front().count);
  for (const auto& box : boxes) {
    double y = height - kBottomPad - kFrameHeight * (box.depth + 1);
    append(out, "<g>\n<title>");
    append_xml(out, box.name);
    append(out, " (");
    append_grouped(out, box.count);
    out.push_back(' ');
    append_xml(out, count_name);
    fmt::format_to(it, ", {:.2f}%)</title><rect x=\"{:.2f}\" y=\"{:.1f}\" width=\"{:.2f}\" height=\"{:.1f}\" fill=\"",
                   100.0 * static_cast<double>(box.count) / total, kXPad + box.x, y, box.width, kFrameHeight - 1);
    append_color(out, box.name);
    fmt::format_to(it, "\" rx=\"2\" ry=\"2\"/>\n<text x=\"{:.2f}\" y=\"{:.1f}\">", kXPad + box.x + 3, y + 11.5);
    append_fitted(out, box.name, box.width);
    append(out, "</text>\n</g>\n");
  }
  fmt::format_to(it,
                 "</g>\n<script type=\"text/ecmascript\"><![CDATA[\n"
                 "var XPAD = {}, FONT_SIZE = {}, FONT_WIDTH = {}, DRAW_WIDTH = {:.2f};",
                 kXPad, kFontSize, kFontWidth, draw_width);
  append(out, kScript);
  append(out, "]]></script>\n</svg>\n");
  return fmt::to_string(out);
}

}  // namespace ecli::output
