// Time from launching a tracer to its first event on a terminal, its peak
// resident memory, and the time from Ctrl-C (SIGINT) to its exit (its last
// drain, prints and detach), for ecli and its peers side by side in one run.
//
// A trigger process opens a file every millisecond; each tool is started on a
// pty (as a person watching sees it), filtered to the trigger's pid, and timed
// until a line that names the trigger appears on the pty. Usage:
//   bench_startup [RUNS [ROW...]]
// ROW: run only the rows whose name contains one of these words.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Sample {
  double ms;
  double rss_mb;
  double exit_ms = 0;  // SIGINT to exit; 0 when it had to be killed
};

// Opens a file every millisecond until killed.
pid_t start_trigger() {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) {
      int fd = open("/etc/hostname", O_RDONLY);
      if (fd >= 0) close(fd);
      usleep(1000);
    }
  }
  return pid;
}

// Peak RSS of a process that has not been reaped yet, from /proc.
double peak_rss_mb(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmHWM:")) return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

std::optional<Sample> measure(const std::vector<std::string>& argv, const std::string& marker) {
  int master;
  auto start = Clock::now();
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);  // the tools' messages go to stderr; data to the pty
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  std::string seen;
  std::optional<Sample> result;
  char buf[4096];
  while (Clock::now() - start < std::chrono::seconds(20)) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, n);
    if (seen.find(marker) != std::string::npos) {
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      result = Sample{ms, peak_rss_mb(pid)};
      break;
    }
  }
  // Exit: a pidfd becomes readable when the process ends; the pty is drained
  // meanwhile so that what it prints at exit never blocks it.
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  auto interrupted = Clock::now();
  kill(pid, SIGINT);
  bool exited = false;
  while (pidfd >= 0 && Clock::now() - interrupted < std::chrono::seconds(2)) {
    pollfd p[2] = {{pidfd, POLLIN, 0}, {master, POLLIN, 0}};
    if (poll(p, 2, 100) <= 0) continue;
    if (p[0].revents & POLLIN) {
      exited = true;
      break;
    }
    if (p[1].revents & POLLIN && read(master, buf, sizeof buf) <= 0) usleep(1000);
  }
  if (result && exited)
    result->exit_ms = std::chrono::duration<double, std::milli>(Clock::now() - interrupted).count();
  if (!exited) kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  if (pidfd >= 0) close(pidfd);
  close(master);
  return result;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 10;
  std::vector<std::string> only(argv + std::min(argc, 2), argv + argc);
  fs::path work = fs::temp_directory_path() / fmt::format("ecli-bench-{}", getpid());
  fs::create_directories(work);
  setenv("ECLI_CACHE_DIR", (work / "cache").c_str(), 1);

  // Packages are built once, before timing; the vmlinux.h cache is warmed by that too.
  // opensnoop-printk matches the bpftrace one-liner; opensnoop (typed events through a
  // ring buffer) matches libbpf-tools' opensnoop and bpftrace's opensnoop.bt.
  auto prepare = [&](const std::string& name) {
    std::string source = fmt::format("{}/examples/{}/{}.bpf.c", ECLI_SOURCE_DIR, name, name);
    fs::path out = work / name;
    if (system(fmt::format("{} -q -o {} {}", ECC_BIN, out.string(), source).c_str()) != 0) std::exit(1);
    fs::copy_file(source, work / (name + ".bpf.c"));
    return std::pair{(out / "package.json").string(), (work / (name + ".bpf.c")).string()};
  };
  auto [printk_package, printk_source] = prepare("opensnoop-printk");
  auto [typed_package, typed_source] = prepare("opensnoop");
  // The same program with a 1 MiB ring buffer instead of 16 MiB: the kernel maps a
  // ring buffer's pages twice into the reader, so its size shows in the reader's RSS.
  std::string small_ring_package = (work / "opensnoop-1m" / "package.json").string();
  {
    std::string text;
    std::ifstream in(typed_source);
    text.assign(std::istreambuf_iterator<char>(in), {});
    std::string from = "__uint(max_entries, 16 * 1024 * 1024);";
    size_t at = text.find(from);
    if (at == std::string::npos) return 1;
    text.replace(at, from.size(), "__uint(max_entries, 1024 * 1024);");
    fs::create_directories(work / "opensnoop-1m");
    std::ofstream(work / "opensnoop-1m" / "opensnoop.bpf.c") << text;
    if (system(fmt::format("{} -q -o {} {}", ECC_BIN, (work / "opensnoop-1m").string(),
                           (work / "opensnoop-1m" / "opensnoop.bpf.c").string())
                   .c_str()) != 0)
      return 1;
  }

  pid_t trigger = start_trigger();
  std::string pid = std::to_string(trigger);
  struct Tool {
    std::string name;
    std::vector<std::string> argv;
    std::string marker;
    bool cold_cache = false;     // no vmlinux.h, PCH or package cached
    std::string edited_source;   // changes before each run: compiled, with vmlinux.h and PCH cached
    bool first_run = false;      // no CO-RE BTF cached yet for the object (a cache of its own, emptied each run)
  };
  std::string printk_marker = "Process ID: " + pid;
  std::string typed_marker = "/etc/hostname";
  std::vector<Tool> tools = {
      {"ecli run package.json", {ECLI_BIN, "run", printk_package, "--pid_target", pid}, printk_marker},
      {"ecli run x.bpf.c (cached)", {ECLI_BIN, "run", printk_source, "--pid_target", pid}, printk_marker},
      {"ecli run x.bpf.c (edited)", {ECLI_BIN, "run", printk_source, "--pid_target", pid}, printk_marker, false,
       printk_source},
      {"ecli run x.bpf.c (cold cache)", {ECLI_BIN, "run", printk_source, "--pid_target", pid}, printk_marker, true},
      {"bpftrace one-liner",
       {"bpftrace", "-e", fmt::format("tracepoint:syscalls:sys_enter_openat /pid == {}/ {{ printf(\"hit {}\\n\", pid); }}", pid, "%d")},
       "hit " + pid},
      {"ecli run opensnoop package.json", {ECLI_BIN, "run", typed_package, "--pid_target", pid}, typed_marker},
      {"  the same, first run",
       {"env", "ECLI_CACHE_DIR=" + (work / "first-run-cache").string(), ECLI_BIN, "run", typed_package, "--pid_target",
        pid},
       typed_marker, false, "", true},
      {"  the same, 1 MiB ring buffer", {ECLI_BIN, "run", small_ring_package, "--pid_target", pid}, typed_marker},
      {"ecli run opensnoop.bpf.c (edited)", {ECLI_BIN, "run", typed_source, "--pid_target", pid}, typed_marker, false,
       typed_source},
      {"libbpf-tools opensnoop", {"opensnoop", "-p", pid}, typed_marker},
      // opensnoop.bt has no pid filter; only the trigger opens /etc/hostname.
      {"bpftrace opensnoop.bt", {"bpftrace", "/usr/sbin/opensnoop.bt"}, typed_marker},
  };
  if (!only.empty())
    std::erase_if(tools, [&](const Tool& tool) {
      return std::none_of(only.begin(), only.end(), [&](const std::string& w) { return tool.name.find(w) != std::string::npos; });
    });

  // Round by round, every tool once per round, so that a drift in the
  // machine's speed (or in the kernel's grace periods, which make most of an
  // exit) reaches all tools alike; medians are reported.
  std::vector<std::vector<double>> times(tools.size()), rss(tools.size()), exits(tools.size());
  for (int i = 0; i < runs; i++) {
    for (size_t t = 0; t < tools.size(); t++) {
      const Tool& tool = tools[t];
      // A cold compile cache; the CO-RE BTF of other rows' packages stays (the printk program has none).
      if (tool.cold_cache)
        for (const auto& e : fs::directory_iterator(work / "cache"))
          if (e.path().filename() != "core-btf") fs::remove_all(e.path());
      if (tool.first_run) fs::remove_all(work / "first-run-cache");
      if (!tool.edited_source.empty()) std::ofstream(tool.edited_source, std::ios::app) << "// edit " << i << "\n";
      if (auto s = measure(tool.argv, tool.marker)) {
        times[t].push_back(s->ms);
        rss[t].push_back(s->rss_mb);
        if (s->exit_ms > 0) exits[t].push_back(s->exit_ms);
      }
    }
  }
  fmt::print("{:<32} {:>12} {:>12} {:>12} {:>8}\n", "tool", "first event", "peak RSS", "exit", "runs");
  for (size_t t = 0; t < tools.size(); t++) {
    if (times[t].empty()) {
      fmt::print("{:<32} {:>12}\n", tools[t].name, "no event");
      continue;
    }
    std::string exit = exits[t].size() == times[t].size() ? fmt::format("{:.1f} ms", median(exits[t]))
                                                          : fmt::format("{} killed", times[t].size() - exits[t].size());
    fmt::print("{:<32} {:>9.1f} ms {:>9.1f} MB {:>12} {:>8}\n", tools[t].name, median(times[t]), median(rss[t]), exit,
               times[t].size());
  }
  kill(trigger, SIGKILL);
  waitpid(trigger, nullptr, 0);
  fs::remove_all(work);
  return 0;
}
