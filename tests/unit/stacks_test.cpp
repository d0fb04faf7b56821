#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <unistd.h>

#include "output/flamegraph_layout.hpp"
#include "output/stacks.hpp"

namespace {

using ecli::output::Buffer;
using ecli::output::FoldedStacks;
using ecli::output::Stack;
using ecli::symbols::Frame;

Frame frame(std::string symbol, uint64_t offset, std::string module, uint64_t address = 0x1000) {
  Frame f;
  f.address = address;
  f.symbol = std::move(symbol);
  f.offset = offset;
  f.module = std::move(module);
  return f;
}

std::string frame_text(const Frame& f) {
  Buffer out;
  ecli::output::append_frame_text(out, f);
  return fmt::to_string(out);
}

Stack stack_of(std::vector<Frame> frames, bool kernel = false) {
  Stack s;
  s.frames = std::move(frames);
  s.kernel = kernel;
  return s;
}

Stack lost_stack(std::string reason) {
  Stack s;
  s.lost = std::move(reason);
  return s;
}

std::string folded(const FoldedStacks& f) {
  Buffer out;
  f.write(out);
  return fmt::to_string(out);
}

// 0 when xmllint finds the file well-formed.
int xmllint(const std::string& svg) {
  auto path = std::filesystem::temp_directory_path() / ("ecli_stacks_test_" + std::to_string(getpid()) + ".svg");
  std::ofstream(path) << svg;
  int rc = std::system(("xmllint --noout '" + path.string() + "'").c_str());
  std::filesystem::remove(path);
  return rc;
}

TEST(StackText, SymbolOffsetModule) {
  EXPECT_EQ(frame_text(frame("do_sys_openat2", 0x1a, "kernel")), "do_sys_openat2+0x1a [kernel]");
}

TEST(StackText, WithLine) {
  Frame f = frame("inner_loop", 0x12, "burn");
  f.file = "/src/burn/burn.c";
  f.line = 12;
  EXPECT_EQ(frame_text(f), "inner_loop+0x12 [burn] (burn.c:12)");
}

TEST(StackText, Inlined) {
  Frame f = frame("helper", 0, "burn");
  f.file = "burn.c";
  f.line = 7;
  f.inlined = true;
  EXPECT_EQ(frame_text(f), "helper [burn] (burn.c:7) (inlined)");
  f.offset = 4;
  EXPECT_EQ(frame_text(f), "helper+0x4 [burn] (burn.c:7) (inlined)");
}

TEST(StackText, ModuleOnly) { EXPECT_EQ(frame_text(frame("", 0x1130, "burn")), "burn+0x1130"); }

TEST(StackText, Unknown) {
  EXPECT_EQ(frame_text(frame("", 0, "", 0x7f1234567890)), "[unknown] 0x7f1234567890");
}

TEST(StackLines, FramesLostEmpty) {
  Buffer out;
  ecli::output::append_stack_lines(out, stack_of({frame("a", 1, "m"), frame("b", 2, "m")}), 4);
  EXPECT_EQ(fmt::to_string(out), "    a+0x1 [m]\n    b+0x2 [m]\n");
  out.clear();
  ecli::output::append_stack_lines(out, lost_stack("stack map full (-EEXIST)"), 2);
  EXPECT_EQ(fmt::to_string(out), "  [lost: stack map full (-EEXIST)]\n");
  out.clear();
  ecli::output::append_stack_lines(out, Stack{}, 0);
  EXPECT_EQ(fmt::to_string(out), "[empty stack]\n");
}

TEST(StackJson, FieldsAndValidity) {
  Frame full = frame("operator new(unsigned long)", 0x10, "libstdc++.so.6", 0xffffffff81000000);
  full.file = "new_op.cc";
  full.line = 50;
  full.inlined = true;
  Frame weird = frame(std::string("bad\"\\\n\xff\xfe name", 13), 3, "m");
  Frame unknown = frame("", 0, "", 0xdead);
  Buffer out;
  ecli::output::append_stack_json(out, stack_of({full, weird, unknown}));
  auto j = nlohmann::json::parse(fmt::to_string(out));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["address"], "0xffffffff81000000");
  EXPECT_EQ(j[0]["symbol"], "operator new(unsigned long)");
  EXPECT_EQ(j[0]["offset"], 16);
  EXPECT_EQ(j[0]["module"], "libstdc++.so.6");
  EXPECT_EQ(j[0]["file"], "new_op.cc");
  EXPECT_EQ(j[0]["line"], 50);
  EXPECT_EQ(j[0]["inlined"], true);
  EXPECT_TRUE(j[1]["symbol"].is_string());
  EXPECT_FALSE(j[1].contains("inlined"));
  EXPECT_FALSE(j[1].contains("line"));
  EXPECT_EQ(j[2]["address"], "0xdead");
  EXPECT_FALSE(j[2].contains("symbol"));
  EXPECT_FALSE(j[2].contains("module"));
  EXPECT_FALSE(j[2].contains("offset"));

  out.clear();
  ecli::output::append_stack_json(out, lost_stack("stack map full (-EEXIST)"));
  auto lost = nlohmann::json::parse(fmt::to_string(out));
  EXPECT_EQ(lost["lost"], "stack map full (-EEXIST)");

  out.clear();
  ecli::output::append_stack_json(out, Stack{});
  EXPECT_EQ(fmt::to_string(out), "[]");
}

TEST(StackCell, JoinedInnermostFirst) {
  Buffer out;
  ecli::output::append_stack_cell(out, stack_of({frame("inner", 1, "m"), frame("outer", 2, "m")}));
  EXPECT_EQ(fmt::to_string(out), "inner+0x1 [m];outer+0x2 [m]");
  out.clear();
  ecli::output::append_stack_cell(out, lost_stack("gone"));
  EXPECT_EQ(fmt::to_string(out), "[lost: gone]");
}

TEST(FoldedName, Forms) {
  EXPECT_EQ(ecli::output::folded_frame_name(frame("do_sys_openat2", 0x1a, "kernel")), "do_sys_openat2");
  EXPECT_EQ(ecli::output::folded_frame_name(frame("", 0x1130, "burn")), "burn+0x1130");
  EXPECT_EQ(ecli::output::folded_frame_name(frame("", 0, "")), "[unknown]");
  EXPECT_EQ(ecli::output::folded_frame_name(frame("a;b\nc", 0, "m")), "a:b?c");
  EXPECT_EQ(ecli::output::folded_frame_name(frame("operator new(unsigned long)", 0, "m")),
            "operator new(unsigned long)");
}

TEST(FoldedStacks, UserBeforeKernelCommFirstMerged) {
  Stack user = stack_of({frame("inner", 1, "burn"), frame("main", 2, "burn"), frame("__libc_start_main", 3, "libc")});
  Stack kernel = stack_of({frame("schedule", 1, "kernel"), frame("do_syscall_64", 2, "kernel")}, true);
  FoldedStacks f;
  f.add("burn", {&user, &kernel}, 2);
  f.add("burn", {&user, &kernel}, 3);
  f.add("", {&user}, 1);
  EXPECT_EQ(f.total(), 6u);
  EXPECT_EQ(folded(f),
            "__libc_start_main;main;inner 1\n"
            "burn;__libc_start_main;main;inner;do_syscall_64;schedule 5\n");
}

TEST(FoldedStacks, LostAndEscaping) {
  Stack user = stack_of({frame("f;g", 0, "m")});
  Stack lost = lost_stack("stack map full (-EEXIST)");
  FoldedStacks f;
  f.add("my;comm", {&user, &lost}, 1);
  f.add("x", {&lost}, 4);
  EXPECT_EQ(folded(f),
            "my:comm;f:g;[lost: stack map full (-EEXIST)] 1\n"
            "x;[lost: stack map full (-EEXIST)] 4\n");
}

TEST(FoldedStacks, InlinedFramesAreSeparate) {
  Frame inl = frame("helper", 0, "burn");
  inl.inlined = true;
  Stack user = stack_of({inl, frame("caller", 4, "burn")});
  FoldedStacks f;
  f.add("burn", {&user}, 1);
  EXPECT_EQ(folded(f), "burn;caller;helper 1\n");
}

TEST(FoldedStacks, AddFolded) {
  FoldedStacks f;
  f.add_folded("b;c", 2);
  f.add_folded("a", 1);
  f.add_folded("b;c\n", 3);
  EXPECT_EQ(folded(f), "a 1\nb;c 5\n");
  EXPECT_EQ(f.total(), 6u);
}

TEST(FlameLayout, WidthsAndDepths) {
  FoldedStacks f;
  f.add_folded("a;b", 3);
  f.add_folded("a;c", 1);
  f.add_folded("d", 4);
  auto boxes = ecli::output::flamegraph::layout(f, 1000);
  std::map<std::string, ecli::output::flamegraph::Box> by_name;
  for (const auto& b : boxes) by_name[b.name] = b;
  ASSERT_EQ(boxes.size(), 5u);
  EXPECT_EQ(boxes[0].name, "all");
  EXPECT_EQ(by_name["all"].depth, 0);
  EXPECT_NEAR(by_name["all"].width, 1000, 0.01);
  EXPECT_EQ(by_name["a"].depth, 1);
  EXPECT_EQ(by_name["d"].depth, 1);
  EXPECT_EQ(by_name["b"].depth, 2);
  EXPECT_EQ(by_name["c"].depth, 2);
  EXPECT_NEAR(by_name["a"].width, 500, 0.01);
  EXPECT_NEAR(by_name["d"].width, 500, 0.01);
  EXPECT_NEAR(by_name["b"].width, 375, 0.01);
  EXPECT_NEAR(by_name["c"].width, 125, 0.01);
  EXPECT_NEAR(by_name["a"].x, 0, 0.01);
  EXPECT_NEAR(by_name["d"].x, 500, 0.01);
  EXPECT_NEAR(by_name["b"].x, 0, 0.01);    // sorted by name: b left of c
  EXPECT_NEAR(by_name["c"].x, 375, 0.01);
  EXPECT_NEAR(by_name["a"].width + by_name["d"].width, by_name["all"].width, 0.01);
  EXPECT_NEAR(by_name["b"].width + by_name["c"].width, by_name["a"].width, 0.01);
  EXPECT_EQ(by_name["b"].count, 3u);
}

TEST(FlameLayout, ChildrenSumToParentForManyFrames) {
  FoldedStacks f;
  for (int i = 0; i < 37; i++) f.add_folded(fmt::format("root;f{};g{}", i % 7, i), static_cast<uint64_t>(i + 1));
  auto boxes = ecli::output::flamegraph::layout(f, 1180);
  // Children of "root" (depth 2) cover it exactly.
  double root_width = 0, children = 0;
  for (const auto& b : boxes) {
    if (b.name == "root") root_width = b.width;
    if (b.depth == 2) children += b.width;
  }
  EXPECT_NEAR(root_width, 1180, 0.01);
  EXPECT_NEAR(children, root_width, 0.01);
}

TEST(FlameLayout, DropsNarrowFrames) {
  FoldedStacks f;
  f.add_folded("big", 1000000);
  f.add_folded("tiny;child", 1);
  auto boxes = ecli::output::flamegraph::layout(f, 1000);
  for (const auto& b : boxes) {
    EXPECT_NE(b.name, "tiny");
    EXPECT_NE(b.name, "child");
  }
}

TEST(FlameGraphSvg, WellFormedNamesEscaped) {
  FoldedStacks f;
  f.add_folded("burn;main;std::vector<int, std::allocator<int> >::push_back(int&&);inner \"q\" 'a'", 30);
  f.add_folded("burn;main;other", 10);
  f.add_folded(std::string("burn;bad\xff\x01utf8", 15), 5);
  ecli::output::FlameGraphOptions options;
  options.title = "CPU <on> & off";
  std::string svg = ecli::output::flamegraph_svg(f, options);
  EXPECT_EQ(xmllint(svg), 0) << svg.substr(0, 2000);
  EXPECT_NE(svg.find("std::vector&lt;int, std::allocator&lt;int&gt; &gt;::push_back(int&amp;&amp;)"),
            std::string::npos);
  EXPECT_NE(svg.find("<title>main (40 samples, 88.89%)</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>all (45 samples, 100.00%)</title>"), std::string::npos);
  EXPECT_NE(svg.find(">other<"), std::string::npos);
  EXPECT_NE(svg.find("CPU &lt;on&gt; &amp; off"), std::string::npos);
  EXPECT_NE(svg.find("<![CDATA["), std::string::npos);
  EXPECT_NE(svg.find("Reset Zoom"), std::string::npos);
  EXPECT_NE(svg.find("Search"), std::string::npos);
}

TEST(FlameGraphSvg, TruncatesLongNames) {
  FoldedStacks f;
  std::string long_name(300, 'x');
  f.add_folded("a;" + long_name, 1);
  f.add_folded("b", 1000);
  std::string svg = ecli::output::flamegraph_svg(f, {});
  EXPECT_EQ(xmllint(svg), 0);
  EXPECT_EQ(svg.find(">" + long_name + "<"), std::string::npos);  // too wide for its 1 sample
  EXPECT_NE(svg.find("<title>" + long_name + " (1 samples"), std::string::npos);
}

TEST(FlameGraphSvg, EmptyInput) {
  std::string svg = ecli::output::flamegraph_svg(FoldedStacks{}, {});
  EXPECT_EQ(xmllint(svg), 0);
  EXPECT_NE(svg.find("no samples"), std::string::npos);
}

}  // namespace
