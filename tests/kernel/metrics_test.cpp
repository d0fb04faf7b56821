// --metrics: a scrape of /metrics while the tool runs holds its histograms
// (cumulative buckets, +Inf equal to _count), its counters labelled by their
// keys, and passes `promtool check metrics`; a port in use is refused before
// anything is loaded.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <regex>

#include <fmt/format.h>

#include "kernel/fixture.hpp"

namespace ecli::test {
namespace {

// A socket bound to a free loopback port (listening when `listen_too`).
struct BoundPort {
  int fd = -1;
  int port = 0;
  explicit BoundPort(bool listen_too) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    if (listen_too) listen(fd, 1);
  }
  ~BoundPort() { close(fd); }
};

int free_port() { return BoundPort(false).port; }

// The output of a shell command, and its exit status.
std::pair<std::string, int> shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : -1};
}

// Sample lines by name (without labels), each as (labels, value).
std::multimap<std::string, std::pair<std::string, double>> samples_of(const std::string& text) {
  std::multimap<std::string, std::pair<std::string, double>> out;
  static const std::regex line(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  for (const auto& l : split_lines(text)) {
    std::smatch m;
    if (!l.empty() && l[0] != '#' && std::regex_match(l, m, line))
      out.emplace(m[1].str(), std::make_pair(m[2].str(), std::stod(m[3].str())));
  }
  return out;
}

TEST(Metrics, ScrapeHoldsHistogramsAndCountersLabelledByKeys) {
  REQUIRE_ROOT();
  int port = free_port();
  Trigger caller([] {
    for (int i = 0; i < 7; i++) getppid();
  });
  Process ecli(ecli_run({"-d", "20", "--metrics", fmt::format("127.0.0.1:{}", port), test_package("getppid_results"),
                         "--targ_tgid", std::to_string(caller.pid())}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  caller.go();
  ASSERT_TRUE(caller.wait());
  auto [headers, curl_status] = shell(fmt::format("curl -s -i http://127.0.0.1:{}/metrics", port));
  ASSERT_EQ(curl_status, 0) << headers;
  EXPECT_NE(headers.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << headers;
  std::string text = headers.substr(headers.find("\r\n\r\n") + 4);
  auto samples = samples_of(text);

  // The counter table: pid -> calls, the traced child's row among them.
  EXPECT_NE(text.find("# TYPE ecli_counts_total counter\n"), std::string::npos) << text;
  auto counts = samples.equal_range("ecli_counts_total");
  ASSERT_EQ(std::distance(counts.first, counts.second), 1) << text;
  EXPECT_TRUE(std::regex_match(counts.first->second.first, std::regex(R"(\{key="[0-9]+"\})"))) << text;
  EXPECT_EQ(counts.first->second.second, 7) << text;

  // The log2 histogram per comm: buckets never go down, +Inf equals _count, 7 calls in all.
  EXPECT_NE(text.find("# TYPE ecli_hists histogram\n"), std::string::npos) << text;
  auto buckets = samples.equal_range("ecli_hists_bucket");
  ASSERT_NE(buckets.first, buckets.second) << text;
  double last = 0, inf = -1;
  for (auto it = buckets.first; it != buckets.second; ++it) {
    EXPECT_GE(it->second.second, last) << text;
    last = it->second.second;
    if (it->second.first.find("le=\"+Inf\"") != std::string::npos) inf = it->second.second;
  }
  auto count = samples.find("ecli_hists_count");
  ASSERT_NE(count, samples.end()) << text;
  EXPECT_EQ(count->second.second, inf) << text;
  EXPECT_EQ(count->second.second, 7) << text;
  EXPECT_EQ(count->second.first, "{comm=\"kernel_tests\"}") << text;
  // A global counter, and the enum-indexed global array labelled by names.
  EXPECT_NE(text.find("\necli_total_calls_total 7\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ecli_calls_by_kind_total{index=\"KIND_ENTER\"} 7\n"), std::string::npos) << text;

  if (shell("command -v promtool").second == 0) {
    TempDir dir;
    write_text(dir / "scrape.txt", text);
    auto [lint, status] = shell(fmt::format("promtool check metrics < {} 2>&1", (dir / "scrape.txt").string()));
    EXPECT_EQ(status, 0) << lint << text;
  }
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

TEST(Metrics, EventStreamsCountEventsSeenAndLost) {
  REQUIRE_ROOT();
  int port = free_port();
  Process ecli(ecli_run({"-d", "20", "--metrics", fmt::format("127.0.0.1:{}", port), example_package("execsnoop")}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  for (int i = 0; i < 3; i++) shell("/bin/true");
  std::this_thread::sleep_for(100ms);
  std::string text = shell(fmt::format("curl -s http://127.0.0.1:{}/metrics", port)).first;
  auto samples = samples_of(text);
  auto seen = samples.find("ecli_events_total");
  ASSERT_NE(seen, samples.end()) << text;
  EXPECT_EQ(seen->second.first, "{stream=\"events\"}") << text;
  EXPECT_GE(seen->second.second, 3) << text;
  auto lost = samples.find("ecli_events_lost_total");
  ASSERT_NE(lost, samples.end()) << text;
  EXPECT_EQ(lost->second.second, 0) << text;
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

// The le -> count of each ecli_hists bucket in a 0.0.4 scrape.
std::map<std::string, double> hist_buckets(const std::string& text) {
  std::map<std::string, double> out;
  auto samples = samples_of(text);
  auto range = samples.equal_range("ecli_hists_bucket");
  static const std::regex le(R"(le="([^"]+)\")");
  for (auto it = range.first; it != range.second; ++it) {
    std::smatch m;
    if (std::regex_search(it->second.first, m, le)) out[m[1].str()] = it->second.second;
  }
  return out;
}

// An instant query against Prometheus's HTTP API: the result vector.
nlohmann::json prometheus_query(int port, const std::string& query) {
  auto [body, status] = shell(fmt::format(
      "curl -s -G --max-time 5 --data-urlencode 'query={}' http://127.0.0.1:{}/api/v1/query", query, port));
  if (status != 0) return nlohmann::json::array();
  auto answer = nlohmann::json::parse(body, nullptr, false);
  if (answer.is_discarded() || answer.value("status", "") != "success") return nlohmann::json::array();
  return answer["data"]["result"];
}

TEST(Metrics, ScrapesInOpenMetricsWhenAskedAndEndsWithEof) {
  REQUIRE_ROOT();
  int port = free_port();
  Process ecli(ecli_run({"-d", "20", "--metrics", fmt::format("127.0.0.1:{}", port), test_package("getppid_results")}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  getppid();
  auto [reply, status] = shell(fmt::format(
      "curl -s -i -H 'Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' "
      "http://127.0.0.1:{}/metrics",
      port));
  ASSERT_EQ(status, 0) << reply;
  EXPECT_NE(reply.find("Content-Type: application/openmetrics-text; version=1.0.0"), std::string::npos) << reply;
  EXPECT_TRUE(reply.ends_with("\n# EOF\n")) << reply;
  EXPECT_NE(reply.find("# TYPE ecli_total_calls counter\n"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\necli_total_calls_total "), std::string::npos) << reply;
  EXPECT_EQ(reply.find("ecli_hists_count"), std::string::npos) << reply;
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

// A real Prometheus server scrapes ecli (it asks for OpenMetrics) and its
// query API returns the histogram buckets and counters ecli serves.
TEST(Metrics, RealPrometheusScrapesTheBucketsAndCounters) {
  REQUIRE_ROOT();
  if (shell("command -v prometheus").second != 0) GTEST_SKIP() << "prometheus is not installed";
  int port = free_port(), prometheus_port = free_port();
  Trigger caller([] {
    for (int i = 0; i < 5; i++) getppid();
  });
  std::string caller_pid = std::to_string(caller.pid());
  Process ecli(ecli_run({"-d", "60", "--metrics", fmt::format("127.0.0.1:{}", port), test_package("getppid_results"),
                         "--targ_tgid", caller_pid}));
  ASSERT_TRUE(ecli.wait_stderr("ecli: running")) << ecli.err();
  caller.go();
  ASSERT_TRUE(caller.wait());
  std::string served = shell(fmt::format("curl -s http://127.0.0.1:{}/metrics", port)).first;
  std::map<std::string, double> buckets = hist_buckets(served);
  ASSERT_FALSE(buckets.empty()) << served;

  TempDir dir;
  write_text(dir / "prometheus.yml", fmt::format("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                                 "scrape_configs:\n  - job_name: ecli\n    static_configs:\n"
                                                 "      - targets: ['127.0.0.1:{}']\n",
                                                 port));
  Process prometheus({"prometheus", "--config.file=" + (dir / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (dir / "data").string(),
                      fmt::format("--web.listen-address=127.0.0.1:{}", prometheus_port), "--log.level=warn"});
  nlohmann::json counts;
  for (int i = 0; i < 150 && counts.empty(); i++) {
    std::this_thread::sleep_for(200ms);
    counts = prometheus_query(prometheus_port, "ecli_counts_total");
  }
  ASSERT_EQ(counts.size(), 1u) << counts << prometheus.err();
  EXPECT_EQ(counts[0]["metric"]["key"], caller_pid) << counts;
  EXPECT_EQ(counts[0]["value"][1], "5") << counts;
  auto up = prometheus_query(prometheus_port, "up{job=\"ecli\"}");
  ASSERT_EQ(up.size(), 1u) << up;
  EXPECT_EQ(up[0]["value"][1], "1") << up;

  // Every bucket Prometheus stored holds what ecli served, +Inf the 5 calls.
  auto stored = prometheus_query(prometheus_port, "ecli_hists_bucket{comm=\"kernel_tests\"}");
  ASSERT_EQ(stored.size(), buckets.size()) << stored << served;
  for (const auto& series : stored) {
    std::string le = series["metric"]["le"];
    ASSERT_TRUE(buckets.contains(le)) << le << served;
    EXPECT_EQ(std::stod(series["value"][1].get<std::string>()), buckets[le]) << le;
  }
  EXPECT_EQ(buckets["+Inf"], 5) << served;
  auto quantile = prometheus_query(prometheus_port, "histogram_quantile(0.5, ecli_hists_bucket)");
  ASSERT_EQ(quantile.size(), 1u) << quantile;
  EXPECT_NE(quantile[0]["value"][1], "NaN") << quantile;

  prometheus.signal(SIGTERM);
  EXPECT_TRUE(prometheus.wait_exit().has_value());
  ecli.signal(SIGINT);
  EXPECT_EQ(ecli.wait_exit(), 0) << ecli.err();
}

TEST(Metrics, PortInUseIsRefusedBeforeAnythingIsLoaded) {
  REQUIRE_ROOT();
  BoundPort taken(true);
  std::string address = fmt::format("127.0.0.1:{}", taken.port);
  Process ecli(ecli_run({"--metrics", address, test_package("getppid_results")}));
  EXPECT_EQ(ecli.wait_exit(), 1);
  EXPECT_EQ(ecli.out(), "");
  EXPECT_EQ(ecli.err(), fmt::format("ecli: cannot serve metrics on {}: address already in use\n", address));
}

TEST(Metrics, ARunThatFailsAtOnceExitsWithItsErrorInsteadOfHanging) {
  REQUIRE_ROOT();
  // The listener thread may not have started when the run fails: it was a
  // 50% hang once. Several runs make such a race show.
  for (int i = 0; i < 10; i++) {
    Process ecli(ecli_run({"--metrics", fmt::format("127.0.0.1:{}", free_port()), "/nonexistent/tool.json"}));
    auto code = ecli.wait_exit(10s);
    if (!code) ecli.signal(SIGKILL);
    ASSERT_EQ(code, 1) << "run " << i << " hung: " << ecli.err();
    EXPECT_NE(ecli.err().find("/nonexistent/tool.json"), std::string::npos) << ecli.err();
  }
}

TEST(Metrics, BadAddressIsRefused) {
  REQUIRE_ROOT();
  Process ecli(ecli_run({"--metrics", "localhost:http", test_package("getppid_results")}));
  EXPECT_EQ(ecli.wait_exit(), 1);
  EXPECT_NE(ecli.err().find("--metrics localhost:http: expected [ADDR:]PORT"), std::string::npos) << ecli.err();
}

}  // namespace
}  // namespace ecli::test
