// Typed events through the real kernel: ring buffers and perf buffers decoded
// from BTF and printed as table, JSON and CSV.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

constexpr const char* kRunning = "ecli: running";

// A minimal RFC 4180 reader: quoted cells, doubled quotes.
std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows(1);
  std::string cell;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); i++) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', i++;
      else if (c == '"') quoted = false;
      else cell += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().push_back(cell), cell.clear();
    } else if (c == '\n') {
      rows.back().push_back(cell), cell.clear();
      rows.emplace_back();
    } else {
      cell += c;
    }
  }
  if (rows.back().empty()) rows.pop_back();
  return rows;
}

TEST(Events, OpensnoopJsonHasPidPathAndReturnValues) {
  REQUIRE_ROOT();
  Trigger opener([] {
    close(open("/etc/hostname", O_RDONLY));
    open("/nonexistent-ecli-test-file", O_RDONLY);
  });
  Process ecli(ecli_run({"--json", "-d", "20", example_package("opensnoop"), "--pid_target",
                         std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  ASSERT_TRUE(ecli.wait_stdout("nonexistent-ecli-test-file")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  bool saw_ok = false, saw_missing = false;
  for (auto& j : json_lines(ecli.out())) {
    ASSERT_TRUE(j["time"].is_string());
    ASSERT_TRUE(j["ts"].is_number_unsigned());
    ASSERT_TRUE(j["pid"].is_number_integer());
    ASSERT_TRUE(j["comm"].is_string());
    ASSERT_TRUE(j["fname"].is_string());
    EXPECT_EQ(j["pid"], opener.pid());
    if (j["fname"] == "/etc/hostname") saw_ok = j["ret"].get<int>() >= 0;
    if (j["fname"] == "/nonexistent-ecli-test-file") saw_missing = j["ret"] == -2;  // -ENOENT
  }
  EXPECT_TRUE(saw_ok) << ecli.out();
  EXPECT_TRUE(saw_missing) << ecli.out();
}

TEST(Events, FieldsTakesOneArgumentBeforeTarget) {
  REQUIRE_ROOT();
  Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
  Process ecli(ecli_run({"--fields", "fname", example_package("opensnoop"), "--pid_target", std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  EXPECT_TRUE(ecli.wait_stdout("/etc/hostname")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  EXPECT_TRUE(ecli.out().starts_with("TIME     FNAME\n")) << ecli.out();
}

TEST(Events, UnknownFieldIsOneClearError) {
  Result r = run(ecli_run({"--fields", "pid,nope", example_package("opensnoop")}));
  if (geteuid() != 0) GTEST_SKIP() << "the field list is checked after loading, which needs root";
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("ecli: --fields names 'nope', which no event has (fields: ts, pid, tid, uid, ret, flags, comm, fname)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(Events, OpensnoopTableAndFields) {
  REQUIRE_ROOT();
  Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
  Process ecli(ecli_run({"--fields", "pid,ret,fname", "-d", "20", example_package("opensnoop"), "--pid_target",
                         std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  ASSERT_TRUE(ecli.wait_stdout("/etc/hostname")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  auto lines = split_lines(ecli.out());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_EQ(lines[0], "TIME     PID     RET     FNAME");
  bool found = false;
  for (auto& line : lines)
    found |= line.find(fmt::format(" {:<7} ", opener.pid())) == 8 && line.ends_with(" /etc/hostname");
  EXPECT_TRUE(found) << ecli.out();
}

TEST(Events, OpensnoopCsvParses) {
  REQUIRE_ROOT();
  Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
  Process ecli(ecli_run({"--csv", "-d", "20", example_package("opensnoop"), "--pid_target",
                         std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  ASSERT_TRUE(ecli.wait_stdout("/etc/hostname")) << ecli.out();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  auto rows = csv_rows(ecli.out());
  ASSERT_GE(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"time", "ts", "pid", "tid", "uid", "ret", "flags", "comm", "fname"}));
  bool found = false;
  for (size_t i = 1; i < rows.size(); i++) {
    ASSERT_EQ(rows[i].size(), rows[0].size());
    found |= rows[i][2] == std::to_string(opener.pid()) && rows[i][8] == "/etc/hostname";
  }
  EXPECT_TRUE(found) << ecli.out();
}

TEST(Events, ExecsnoopSeesCommandWithArguments) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"-d", "20", example_package("execsnoop")}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  // Arguments in memory the child has touched: a tracepoint cannot fault pages in
  // (a shell's argv is always resident; string literals of a fresh fork may not be).
  Trigger exec([] {
    char prog[] = "/bin/echo", one[] = "ecli-arg-one", two[] = "two words";
    char* argv[] = {prog, one, two, nullptr};
    execv(prog, argv);
  });
  exec.go();
  EXPECT_TRUE(ecli.wait_stdout("/bin/echo ecli-arg-one two words")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
  for (auto& line : split_lines(ecli.out()))
    if (line.find("ecli-arg-one") != std::string::npos) {
      EXPECT_NE(line.find(fmt::format(" {} ", exec.pid())), std::string::npos) << line;
      EXPECT_NE(line.find(" echo "), std::string::npos) << line;  // comm after exec
    }
}

TEST(Events, TwoMapsOfDifferentTypesBothPrint) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "20", test_package("two_streams"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(ecli.wait_stdout("perf_events")) << ecli.out() << ecli.err();
  ASSERT_TRUE(ecli.wait_stdout("ring_events")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  int seen = 0;
  for (auto& j : json_lines(ecli.out())) {
    if (j["stream"] == "ring_events") {
      EXPECT_EQ(j["pid"], caller.pid());
      EXPECT_TRUE(j["comm"].is_string());
      seen |= 1;
    } else {
      EXPECT_EQ(j["stream"], "perf_events");
      EXPECT_EQ(j["big"], 18446744073709551615ull);
      EXPECT_EQ(j["flag"], true);
      EXPECT_EQ(j["color"], "GREEN");
      EXPECT_EQ(j["negative"], -7);
      EXPECT_EQ(j["bytes"], nlohmann::json({1, 2, 250}));
      seen |= 2;
    }
  }
  EXPECT_EQ(seen, 3) << ecli.out();
}

TEST(Events, TwoMapsInATableNameTheirStream) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"-d", "20", test_package("two_streams"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(ecli.wait_stdout("GREEN")) << ecli.out();
  ASSERT_TRUE(ecli.wait_stdout(fmt::format("{}", caller.pid()))) << ecli.out();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  std::string out = ecli.out();
  EXPECT_NE(out.find("STREAM      TIME     PID     COMM"), std::string::npos) << out;
  EXPECT_NE(out.find("STREAM      TIME     BIG        FLAG  COLOR NEGATIVE BYTES"), std::string::npos) << out;
  EXPECT_NE(out.find("perf_events "), std::string::npos) << out;
  EXPECT_NE(out.find("ring_events "), std::string::npos) << out;
}

TEST(Events, MissingExportTypeIsReportedOnceAndOtherStreamsPrint) {
  REQUIRE_ROOT();
  auto j = nlohmann::json::parse(read_text(test_package("two_streams")));
  for (auto& map : j["meta"]["bpf_skel"]["maps"])
    if (map["name"] == "ring_events") {
      map["event_type"] = "struct not_in_btf";
      map.erase("export_config");  // which, with enable_multiple_export_types, would name the type by id
    }
  TempDir dir;
  write_text(dir / "package.json", j.dump());
  Trigger caller([] {
    getppid();
    getppid();
  });
  Process ecli(ecli_run({"--json", "-d", "20", (dir / "package.json").string(), "--target",
                         std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  caller.wait();
  ASSERT_TRUE(ecli.wait_stdout("perf_events")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  std::string message = "ecli: event type struct not_in_btf of map 'ring_events' is not in the object's BTF";
  std::string err = ecli.err();
  EXPECT_NE(err.find(message), std::string::npos) << err;
  EXPECT_EQ(err.find(message), err.rfind(message)) << err;  // once
  EXPECT_EQ(ecli.out().find("ring_events"), std::string::npos);
}

TEST(Events, ShortEventIsReportedOnceAndPaddedWithZeros) {
  REQUIRE_ROOT();
  Trigger caller([] {
    getppid();
    getppid();
  });
  Process ecli(ecli_run({"--json", "-d", "20", test_package("short_event"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  caller.wait();
  ASSERT_TRUE(ecli.wait_stdout("\"first\":42")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  auto events = json_lines(ecli.out());
  EXPECT_EQ(events.size(), 4u);
  for (auto& e : events) {
    EXPECT_EQ(e["first"], 42);
    EXPECT_EQ(e["second"], 0);
    EXPECT_EQ(e["third"], 0);
  }
  std::string message = "is 4 bytes, shorter than struct wide_event (16 bytes)";
  EXPECT_NE(ecli.err().find(message), std::string::npos) << ecli.err();
  EXPECT_EQ(ecli.err().find(message), ecli.err().rfind(message));
}

TEST(Events, EunomiaFormWithHeaderAndOnlyExportTypes) {
  REQUIRE_ROOT();
  TempDir out;
  fs::path dir = fs::path(ECLI_SOURCE_DIR) / "tests/data/with_header";
  Result cc = run({ecc_bin(), "-o", out.path().string(), (dir / "hdr.bpf.c").string(), (dir / "hdr_event.h").string()});
  ASSERT_EQ(cc.code, 0) << cc.err;
  auto j = nlohmann::json::parse(read_text(out / "package.json"));
  ASSERT_EQ(j["meta"]["export_types"].size(), 1u) << j["meta"].dump();
  EXPECT_EQ(j["meta"]["export_types"][0]["name"], "hdr_event");
  // As a package from eunomia would be: export_types only, none of our keys.
  for (auto& map : j["meta"]["bpf_skel"]["maps"]) map.erase("event_type");
  write_text(out / "package.json", j.dump());
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "20", (out / "package.json").string(), "--target",
                         std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(ecli.wait_stdout(fmt::format("\"pid\":{}", caller.pid()))) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

TEST(Events, RowsToAPipeDoNotWaitForMoreRows) {
  REQUIRE_ROOT();
  Trigger opener([] { close(open("/etc/hostname", O_RDONLY)); });
  Process ecli(ecli_run({"-d", "20", example_package("opensnoop"), "--pid_target", std::to_string(opener.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  opener.go();
  opener.wait();
  auto start = std::chrono::steady_clock::now();
  // Bounded by the drain interval (16 ms idle) plus the batch age (50 ms), with slack for a loaded CI machine.
  EXPECT_TRUE(ecli.wait_stdout("/etc/hostname", 1s)) << ecli.out();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0);
}

}  // namespace
}  // namespace ecli::test

namespace ecli::test {
namespace {

TEST(Events, LostPerfEventsAreReportedAndSummedUp) {
  REQUIRE_ROOT();
  int again[2];
  ASSERT_EQ(pipe(again), 0);
  Trigger caller([&] {
    // The kernel writes the loss record into the ring of the CPU that lost the events, when
    // the next event there fits, so both calls must run on the same CPU.
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) _exit(3);
    getppid();  // the flood
    char c;
    if (read(again[0], &c, 1) == 1) getppid();  // one more event, which carries the loss record
  });
  Process ecli(ecli_run({"--fields", "seq", "-d", "20", test_package("flood"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  // ecli is stopped while the flood happens, so the 1 MiB buffer must overflow.
  ecli.signal(SIGSTOP);
  caller.go();
  std::this_thread::sleep_for(300ms);
  ecli.signal(SIGCONT);
  std::this_thread::sleep_for(300ms);  // ecli drains what fitted
  ASSERT_EQ(write(again[1], "g", 1), 1);
  caller.wait();
  ASSERT_TRUE(ecli.wait_stderr("lost ", 5s)) << ecli.err() << ecli.out().size() << " bytes out";
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  std::string err = ecli.err();
  EXPECT_NE(err.find("events from map 'events' (the perf buffer was full)"), std::string::npos) << err;
  size_t total_at = err.find(" events in total from map 'events'");
  ASSERT_NE(total_at, std::string::npos) << err;
  // What was printed and what was lost add up to what was sent.
  long lost = std::atol(err.c_str() + err.rfind("ecli: lost ", total_at) + 11);
  long printed = 0;
  for (auto& line : split_lines(ecli.out())) printed += !line.empty() && !line.starts_with("TIME");
  EXPECT_GT(lost, 0);
  EXPECT_EQ(printed + lost, 2001) << "printed " << printed << " lost " << lost;
}

}  // namespace
}  // namespace ecli::test

#include <bpf/btf.h>

namespace ecli::test {
namespace {

// The BTF type ids of struct NAME and of its members, read from the object ecc
// wrote beside the package.
struct StructIds {
  uint32_t id = 0;
  std::map<std::string, uint32_t> members;  // member name -> BTF type id
};

StructIds struct_ids(const fs::path& object, const std::string& name) {
  StructIds out;
  std::unique_ptr<struct btf, decltype(&btf__free)> btf(btf__parse_elf(object.c_str(), nullptr), btf__free);
  if (!btf) return out;
  int id = btf__find_by_name_kind(btf.get(), name.c_str(), BTF_KIND_STRUCT);
  if (id <= 0) return out;
  out.id = static_cast<uint32_t>(id);
  const btf_type* t = btf__type_by_id(btf.get(), id);
  for (uint16_t i = 0; i < btf_vlen(t); i++)
    out.members[btf__name_by_offset(btf.get(), btf_members(t)[i].name_off)] = btf_members(t)[i].type;
  return out;
}

TEST(Events, SixteenByteIntegersPrintAsHex) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "20", test_package("multi_export"), "--target", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(ecli.wait_stdout("\"stream\":\"wide_events\"")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  bool seen = false;
  for (auto& j : json_lines(ecli.out())) {
    if (j["stream"] != "wide_events") continue;
    EXPECT_EQ(j["pid"], caller.pid());
    EXPECT_EQ(j["big"], "0x123456789abcdeffedcba9876543210");  // unsigned __int128
    EXPECT_EQ(j["negative"], "-0x5");                           // __int128
    EXPECT_EQ(j["zero"], "0x0");
    EXPECT_TRUE(j["comm"].is_string());
    seen = true;
  }
  EXPECT_TRUE(seen) << ecli.out();
  EXPECT_EQ(ecli.err().find("cannot decode"), std::string::npos) << ecli.err();
}

TEST(Events, SixteenByteIntegersInATable) {
  REQUIRE_ROOT();
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--fields", "pid,big,negative", "-d", "20", test_package("multi_export"), "--target",
                         std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  ASSERT_TRUE(ecli.wait_stdout("-0x5")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  EXPECT_NE(ecli.out().find(fmt::format("{:<7} 0x123456789abcdeffedcba9876543210 -0x5", caller.pid())),
            std::string::npos)
      << ecli.out();
}

TEST(Events, EccWritesTheReferenceExportConfigForSeveralStreams) {
  REQUIRE_ROOT();  // test_package compiles with the kernel's BTF
  fs::path package = test_package("multi_export");
  auto j = nlohmann::json::parse(read_text(package));
  EXPECT_EQ(j["meta"]["enable_multiple_export_types"], true) << j["meta"].dump();
  int with_config = 0;
  for (auto& map : j["meta"]["bpf_skel"]["maps"]) {
    if (!map.contains("event_type")) continue;
    std::string type = map["event_type"];  // "struct wide_event"
    StructIds ids = struct_ids(package.parent_path() / "multi_export.bpf.o", type.substr(type.find(' ') + 1));
    ASSERT_NE(ids.id, 0u) << type;
    EXPECT_EQ(map["export_config"], nlohmann::json({{"btf_type_id", ids.id}})) << map.dump();
    with_config++;
  }
  EXPECT_EQ(with_config, 3);
  // One stream needs no switch (the reference then decodes it with export_types[0]).
  auto single = nlohmann::json::parse(read_text(test_package("short_event")));
  EXPECT_FALSE(single["meta"].contains("enable_multiple_export_types")) << single["meta"].dump();
}

// A package as eunomia-bpf writes it with enable_multiple_export_types: no
// event_type keys of ours; each map says in export_config which BTF type id
// (wide_events), which members at which offsets (pair_events, only two of its
// three fields), or "NoExport" (quiet_events). export_types[0] is quiet_event,
// so a reader that ignored export_config would print the wrong fields.
TEST(Events, ReferenceMultipleExportPackageDecodesEachStream) {
  REQUIRE_ROOT();
  fs::path built = test_package("multi_export");
  fs::path object = built.parent_path() / "multi_export.bpf.o";
  StructIds wide = struct_ids(object, "wide_event"), pair = struct_ids(object, "pair_event");
  ASSERT_NE(wide.id, 0u);
  ASSERT_NE(pair.id, 0u);
  auto j = nlohmann::json::parse(read_text(built));
  auto& meta = j["meta"];
  meta["enable_multiple_export_types"] = true;
  nlohmann::json types = nlohmann::json::array();
  for (auto& t : meta["export_types"])
    if (t["name"] == "quiet_event") types.insert(types.begin(), t);
    else types.push_back(t);
  meta["export_types"] = types;
  ASSERT_EQ(meta["export_types"][0]["name"], "quiet_event");
  for (auto& map : meta["bpf_skel"]["maps"]) {
    map.erase("event_type");
    map.erase("export_config");
    if (map["name"] == "wide_events") map["export_config"] = {{"btf_type_id", wide.id}};
    if (map["name"] == "pair_events")
      map["export_config"] = {{"custom_members",
                               {{{"name", "seq"}, {"offset", 0}, {"btf_type_id", pair.members["seq"]}},
                                {{"name", "pid"}, {"offset", 12}, {"btf_type_id", pair.members["pid"]}}}}};
    if (map["name"] == "quiet_events") map["export_config"] = "NoExport";
  }
  TempDir dir;
  write_text(dir / "package.json", j.dump(2));
  Trigger caller([] {
    getppid();
    getppid();
  });
  pid_t pid = caller.pid();
  Process ecli(ecli_run({"--json", "-d", "20", (dir / "package.json").string(), "--target", std::to_string(pid)}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  caller.wait();
  ASSERT_TRUE(ecli.wait_stdout("\"seq\":2")) << ecli.out() << ecli.err();
  ASSERT_TRUE(ecli.wait_stdout("-0x5")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  int wide_rows = 0, pair_rows = 0;
  for (auto& e : json_lines(ecli.out())) {
    if (e["stream"] == "wide_events") {
      EXPECT_EQ(e["pid"], pid);
      EXPECT_EQ(e["big"], "0x123456789abcdeffedcba9876543210");
      EXPECT_EQ(e["negative"], "-0x5");
      wide_rows++;
    } else {
      ASSERT_EQ(e["stream"], "pair_events") << e.dump();  // never quiet_events
      std::vector<std::string> keys;
      for (auto& [k, v] : e.items()) keys.push_back(k);
      EXPECT_EQ(keys, (std::vector<std::string>{"pid", "seq", "stream", "time"})) << e.dump();  // no delta
      EXPECT_EQ(e["pid"], pid);
      pair_rows++;
    }
  }
  EXPECT_EQ(wide_rows, 2) << ecli.out();
  EXPECT_EQ(pair_rows, 2) << ecli.out();
  EXPECT_EQ(ecli.err().find("quiet_events"), std::string::npos) << ecli.err();  // not exported is not an error
  EXPECT_EQ(ecli.err().find("not printed"), std::string::npos) << ecli.err();
}

TEST(Events, ExportConfigNamingATypeNotInBtfStopsOnlyThatStream) {
  REQUIRE_ROOT();
  auto j = nlohmann::json::parse(read_text(test_package("multi_export")));
  j["meta"]["enable_multiple_export_types"] = true;
  for (auto& map : j["meta"]["bpf_skel"]["maps"])
    if (map["name"] == "wide_events") map["export_config"] = {{"btf_type_id", 99999}};
  TempDir dir;
  write_text(dir / "package.json", j.dump());
  Trigger caller([] { getppid(); });
  Process ecli(ecli_run({"--json", "-d", "20", (dir / "package.json").string(), "--target",
                         std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  caller.wait();
  ASSERT_TRUE(ecli.wait_stdout("quiet_events")) << ecli.out() << ecli.err();
  ASSERT_TRUE(ecli.wait_stdout("pair_events")) << ecli.out() << ecli.err();
  ecli.signal(SIGINT);
  ASSERT_EQ(ecli.wait_exit(), 0);
  EXPECT_NE(ecli.err().find("export_config of map 'wide_events': type id 99999 is not in the object's BTF"),
            std::string::npos)
      << ecli.err();
  EXPECT_EQ(ecli.out().find("wide_events"), std::string::npos) << ecli.out();
}

}  // namespace
}  // namespace ecli::test

namespace ecli::test {
namespace {

// Runs PROGRAM (a ring buffer test program whose records carry seq and
// check = seq * 0x9E3779B97F4A7C15) while a child calls getppid() CALLS times,
// and returns how many records were printed, after checking that every row
// is whole and that no record was skipped or read twice (seq counts only the
// records the kernel accepted, so a full ring leaves no gap).
size_t check_ring_records(const std::string& program, int calls, std::chrono::microseconds pause) {
  Trigger caller([&] {
    for (int i = 0; i < calls; i++) {
      getppid();
      std::this_thread::sleep_for(pause);
    }
  });
  Process ecli(ecli_run({"--fields", "seq,check", test_package(program), "--target", std::to_string(caller.pid())}));
  EXPECT_TRUE(ecli.wait_stderr(kRunning)) << ecli.err();
  caller.go();
  EXPECT_TRUE(caller.wait());
  std::this_thread::sleep_for(300ms);  // the last drain
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
  uint64_t expected_seq = 0;
  for (auto& line : split_lines(ecli.out())) {
    if (line.empty() || line.starts_with("TIME")) continue;
    unsigned long long seq = 0, check = 0;
    if (sscanf(line.c_str(), "%*s %llu %llu", &seq, &check) != 2) break;  // the globals printed at exit
    EXPECT_EQ(seq, expected_seq) << line;
    EXPECT_EQ(check, seq * 0x9E3779B97F4A7C15ULL) << line;
    if (seq != expected_seq || check != seq * 0x9E3779B97F4A7C15ULL) break;
    expected_seq++;
  }
  return expected_seq;
}

// ecli maps at most 1 MiB of a ring at a time and moves that window along:
// 1000-byte records go round a 4 MiB ring more than three times, some of them
// across its end and across window edges, and each is read once and whole.
TEST(Events, RingBufferRecordsAcrossTheEndAndTheWindowReadWhole) {
  REQUIRE_ROOT();
  size_t records = check_ring_records("ring_wrap", 800, 200us);
  EXPECT_GT(records * 1008, 3u * (4 << 20)) << records << " records";
}

// A record larger than the window gets a window of its own size.
TEST(Events, RingBufferRecordLargerThanTheWindowReadsWhole) {
  REQUIRE_ROOT();
  size_t records = check_ring_records("ring_huge", 40, 5ms);
  EXPECT_GE(records, 4u) << "1.5 MiB records in a 4 MiB ring: four go round it";
}

}  // namespace
}  // namespace ecli::test
