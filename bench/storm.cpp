// An openat storm traced side by side: how much each tracer slows a program
// that opens a file 1,000,000 times, whether it prints every event, how
// much CPU it spends, and its memory: peak RSS, the part of it that is the
// event buffers' shared mapping (ring or perf buffer pages the kernel also
// holds), the peak of its private memory, and the kernel memory of its maps.
//
//   [ECLI_BEFORE=OTHER_ECLI] bench_storm [COUNT [ROUNDS]]
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kPath = "/etc/hostname";

double own_cpu_seconds() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A child that opens kPath `count` times once told to, and reports how long it took.
struct Generator {
  pid_t pid;
  int go_fd, done_fd;
};

Generator start_generator(long count) {
  int go[2], done[2];
  if (pipe(go) || pipe(done)) exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(go[1]);
    close(done[0]);
    char c;
    if (read(go[0], &c, 1) != 1) _exit(0);
    auto start = Clock::now();
    double cpu_start = own_cpu_seconds();
    for (long i = 0; i < count; i++) {
      int fd = open(kPath, O_RDONLY);
      if (fd >= 0) close(fd);
    }
    double times[2] = {std::chrono::duration<double>(Clock::now() - start).count(), own_cpu_seconds() - cpu_start};
    (void)!write(done[1], times, sizeof times);
    _exit(0);
  }
  close(go[0]);
  close(done[1]);
  return {pid, go[1], done[0]};
}

// The generator's wall time and its own CPU time (user + system, which
// includes the traced programs it runs). The CPU time moves less when other
// work on the machine takes the generator's CPU away.
std::pair<double, double> run_generator(Generator& g) {
  (void)!write(g.go_fd, "g", 1);
  double times[2] = {0, 0};
  (void)!read(g.done_fd, times, sizeof times);
  waitpid(g.pid, nullptr, 0);
  close(g.go_fd);
  close(g.done_fd);
  return {times[0], times[1]};
}

struct Tracer {
  std::string name;
  std::vector<std::string> argv;  // "{pid}" is replaced by the generator's pid
  bool prints = true;             // prints a line per event
};

size_t count_lines_with(const fs::path& file, const std::string& needle) {
  std::ifstream in(file);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += line.find(needle) != std::string::npos;
  return n;
}

std::string read_all(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Memory of a running tracer, sampled every 20 ms while the storm runs; the
// peaks are kept. Sizes in kB as /proc gives them.
struct MemoryPeaks {
  long buffers_kb = 0;  // RSS of mappings of BPF maps and perf buffers
  long private_kb = 0;  // Private_Clean + Private_Dirty: what no other process or the kernel holds
  long kernel_kb = 0;   // kernel memory of its maps (memlock) and perf buffers (their mapped size)
  long peak_rss_kb = 0; // VmHWM before it is stopped (ru_maxrss would add the bpftool run at exit)
};

long field_kb(const std::string& text, const std::string& name) {
  size_t at = text.find("\n" + name + ":");
  return at == std::string::npos ? 0 : std::atol(text.c_str() + at + name.size() + 2);
}

void sample_memory(pid_t pid, MemoryPeaks& peaks) {
  std::string rollup = read_all(fmt::format("/proc/{}/smaps_rollup", pid));
  peaks.peak_rss_kb = std::max(peaks.peak_rss_kb, field_kb(read_all(fmt::format("/proc/{}/status", pid)), "VmHWM"));
  peaks.private_kb = std::max(peaks.private_kb, field_kb(rollup, "Private_Clean") + field_kb(rollup, "Private_Dirty"));
  std::ifstream smaps(fmt::format("/proc/{}/smaps", pid));
  std::string line;
  bool buffer = false;
  long buffers = 0, perf_kb = 0;
  while (std::getline(smaps, line)) {
    if (!line.empty() && std::isxdigit(static_cast<unsigned char>(line[0])) && line.find('-') < 17) {
      buffer = line.find("anon_inode:bpf-map") != std::string::npos || line.find("perf_event") != std::string::npos;
      if (line.find("perf_event") != std::string::npos) {
        unsigned long start = std::stoul(line, nullptr, 16), end = std::stoul(line.substr(line.find('-') + 1), nullptr, 16);
        perf_kb += static_cast<long>((end - start) / 1024);
      }
    } else if (buffer && line.starts_with("Rss:")) {
      buffers += std::atol(line.c_str() + 4);
    }
  }
  peaks.buffers_kb = std::max(peaks.buffers_kb, buffers);
  long maps = 0;
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator(fmt::format("/proc/{}/fdinfo", pid), ec)) {
    std::string info = read_all(fd.path());
    if (info.find("map_type:") != std::string::npos) maps += field_kb("\n" + info, "memlock") / 1024;
  }
  peaks.kernel_kb = std::max(peaks.kernel_kb, maps + perf_kb);
}

// One run of one case: the generator's time, and for a tracer what it
// printed and lost, its CPU time and its memory.
struct Sample {
  double seconds = 0;
  double generator_cpu = 0;
  size_t printed = 0;
  long lost = 0;
  double cpu = 0;
  MemoryPeaks memory;
};

template <typename Field>
double median(const std::vector<Sample>& samples, Field field) {
  std::vector<double> values;
  for (const auto& s : samples) values.push_back(field(s));
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

Sample run_case(const Tracer& tracer, long count, const fs::path& work) {
  Sample sample;
  // The last case's output (tens of MB) is written back now, not by kernel
  // threads during this case's storm.
  sync();
  Generator g = start_generator(count);
  if (tracer.argv.empty()) {
    std::tie(sample.seconds, sample.generator_cpu) = run_generator(g);
    return sample;
  }
  fs::path out = work / "out.txt", err = work / "err.txt";
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(o, 1);
    dup2(e, 2);
    std::vector<std::string> args;
    for (auto a : tracer.argv) args.push_back(a == "{pid}" ? std::to_string(g.pid) : a);
    std::vector<char*> c;
    for (auto& a : args) c.push_back(a.data());
    c.push_back(nullptr);
    execvp(c[0], c.data());
    _exit(127);
  }
  // Ready: ecli says so on stderr; opensnoop prints its header once attached.
  auto deadline = Clock::now() + 20s;
  while (Clock::now() < deadline && read_all(err).find("running") == std::string::npos &&
         read_all(out).find("PID") == std::string::npos)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      sample_memory(pid, sample.memory);
      std::this_thread::sleep_for(20ms);
    }
  });
  std::tie(sample.seconds, sample.generator_cpu) = run_generator(g);
  // Let the tracer finish printing: stop when the output stops growing.
  uintmax_t last = 0;
  for (int still = 0; still < 5;) {
    std::this_thread::sleep_for(200ms);
    uintmax_t size = fs::file_size(out);
    still = size == last ? still + 1 : 0;
    last = size;
  }
  sampling = false;
  sampler.join();
  sample_memory(pid, sample.memory);  // the last of the drain
  kill(pid, SIGINT);
  int status;
  struct rusage usage {};
  wait4(pid, &status, 0, &usage);
  sample.cpu = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
  sample.printed = count_lines_with(out, kPath);
  // Lost: what the tracer reports, and what never reached the output.
  std::string errors = read_all(err);
  long reported = 0;
  for (size_t at = errors.find("lost "); at != std::string::npos; at = errors.find("lost ", at + 1))
    reported += std::atol(errors.c_str() + at + 5);
  sample.lost = std::max<long>(reported, count - static_cast<long>(sample.printed));
  return sample;
}

int main(int argc, char** argv) {
  long count = argc > 1 ? std::atol(argv[1]) : 1000000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  fs::path work = fs::temp_directory_path() / fmt::format("ecli-storm-{}", getpid());
  fs::create_directories(work);
  setenv("ECLI_CACHE_DIR", (work / "cache").c_str(), 1);
  std::string package = (work / "pkg/package.json").string();
  if (system(fmt::format("{} -q -o {} {}/examples/opensnoop/opensnoop.bpf.c", ECC_BIN, (work / "pkg").string(),
                         ECLI_SOURCE_DIR)
                 .c_str()) != 0)
    return 1;

  std::string floor_package = (work / "floor/package.json").string();
  if (system(fmt::format("{} -q -o {} {}/bench/data/opensnoop_count.bpf.c", ECC_BIN, (work / "floor").string(),
                         ECLI_SOURCE_DIR)
                 .c_str()) != 0)
    return 1;

  // Every case runs once per round, in the same order, so that a change in
  // the machine's load reaches all of them alike; medians are reported.
  std::vector<Tracer> tracers = {
      {"untraced", {}},
      {"floor: in-kernel count", {ECLI_BIN, "run", floor_package, "--pid_target", "{pid}"}, false},
      // opensnoop's kernel side with a reader that throws the events away:
      // what building and submitting events costs, without printing them.
      {"opensnoop, events discarded", {NULL_READER_BIN, (work / "pkg/opensnoop.bpf.o").string(), "{pid}"}, false},
      {"ecli run opensnoop (table)", {ECLI_BIN, "run", package, "--pid_target", "{pid}"}},
      {"ecli run opensnoop --json", {ECLI_BIN, "run", "--json", package, "--pid_target", "{pid}"}},
      {"libbpf-tools opensnoop", {"opensnoop", "-p", "{pid}"}},
  };
  // ECLI_BEFORE=PATH: another build of ecli (say, the last commit's) runs
  // the same cases in the same rounds, for a before/after in one run.
  if (const char* before = getenv("ECLI_BEFORE")) {
    tracers.push_back({"before: opensnoop (table)", {before, "run", package, "--pid_target", "{pid}"}});
    tracers.push_back({"before: opensnoop --json", {before, "run", "--json", package, "--pid_target", "{pid}"}});
  }
  std::vector<std::vector<Sample>> samples(tracers.size());
  for (int round = 0; round < rounds; round++)
    for (size_t t = 0; t < tracers.size(); t++) samples[t].push_back(run_case(tracers[t], count, work));

  double untraced = median(samples[0], [](const Sample& s) { return s.seconds; });
  double floor = median(samples[1], [](const Sample& s) { return s.seconds; });
  double floor_cpu = median(samples[1], [](const Sample& s) { return s.generator_cpu; });
  fmt::print("{} openat calls, untraced: {:.2f} s (median of {} rounds, cases interleaved)\n\n", count, untraced,
             rounds);
  fmt::print("{:<28} {:>9} {:>9} {:>9} {:>10} {:>9} {:>7} {:>9} {:>9} {:>9} {:>9}\n", "tracer", "slowdown",
             "/floor", "CPU/floor", "printed", "lost", "CPU s", "peak RSS", "buffers", "private", "kernel");
  auto mb = [](double kb) { return fmt::format("{:.1f} MB", kb / 1024.0); };
  for (size_t t = 1; t < tracers.size(); t++) {
    const auto& runs = samples[t];
    double seconds = median(runs, [](const Sample& s) { return s.seconds; });
    bool prints = tracers[t].prints;
    long printed_min = count, lost_max = 0;
    for (const auto& s : runs) {
      printed_min = std::min<long>(printed_min, static_cast<long>(s.printed));
      lost_max = std::max(lost_max, s.lost);
    }
    double generator_cpu = median(runs, [](const Sample& s) { return s.generator_cpu; });
    fmt::print("{:<28} {:>8.2f}x {:>8.2f}x {:>8.2f}x {:>10} {:>9} {:>7.2f} {:>9} {:>9} {:>9} {:>9}\n",
               tracers[t].name, seconds / untraced, seconds / floor, generator_cpu / floor_cpu, prints ? std::to_string(printed_min) : "-",
               prints ? std::to_string(lost_max) : "-", median(runs, [](const Sample& s) { return s.cpu; }),
               mb(median(runs, [](const Sample& s) { return double(s.memory.peak_rss_kb); })),
               mb(median(runs, [](const Sample& s) { return double(s.memory.buffers_kb); })),
               mb(median(runs, [](const Sample& s) { return double(s.memory.private_kb); })),
               mb(median(runs, [](const Sample& s) { return double(s.memory.kernel_kb); })));
  }
  fmt::print("(medians; CPU/floor: the generator's own CPU time against the floor's; printed: the fewest of any\n"
             " round; lost: the most)\n");
  fmt::print("slowdowns per round:\n");
  for (size_t t = 1; t < tracers.size(); t++) {
    std::string list;
    for (const auto& s : samples[t]) list += fmt::format(" {:.2f}x", s.seconds / untraced);
    fmt::print("  {:<28}{}\n", tracers[t].name, list);
  }

  // Latency at a low rate: one open every 100 ms, ecli's output read through a
  // pipe (batched, not a terminal); time from open() to the row arriving.
  fmt::print("\nlow rate, output to a pipe: open() to row, 20 events\n");
  for (bool json : {false, true}) {
    int pipefd[2], go[2];
    if (pipe(pipefd) || pipe(go)) return 1;
    pid_t opener = fork();
    if (opener == 0) {
      char c;
      (void)!read(go[0], &c, 1);
      for (int i = 0; i < 20; i++) {
        int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
        (void)!write(go[1], &now, sizeof now);  // when this open happens
        close(open(kPath, O_RDONLY));
        usleep(100000);
      }
      _exit(0);
    }
    pid_t pid = fork();
    if (pid == 0) {
      dup2(pipefd[1], 1);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      std::string target = std::to_string(opener);
      if (json)
        execl(ECLI_BIN, ECLI_BIN, "run", "--json", package.c_str(), "--pid_target", target.c_str(), nullptr);
      else
        execl(ECLI_BIN, ECLI_BIN, "run", package.c_str(), "--pid_target", target.c_str(), nullptr);
      _exit(127);
    }
    close(pipefd[1]);
    std::this_thread::sleep_for(500ms);
    (void)!write(go[1], "g", 1);
    std::this_thread::sleep_for(10ms);
    std::vector<double> delays;
    std::string buffer;
    char buf[4096];
    while (delays.size() < 20) {
      ssize_t n = read(pipefd[0], buf, sizeof buf);
      if (n <= 0) break;
      auto arrived = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
      buffer.append(buf, n);
      for (size_t at; (at = buffer.find(kPath)) != std::string::npos;) {
        buffer.erase(0, at + 1);
        int64_t opened = 0;
        if (read(go[0], &opened, sizeof opened) != sizeof opened) break;
        delays.push_back((arrived - opened) / 1000.0);
      }
    }
    kill(pid, SIGINT);
    waitpid(pid, nullptr, 0);
    waitpid(opener, nullptr, 0);
    std::sort(delays.begin(), delays.end());
    if (!delays.empty())
      fmt::print("{:<28} median {:.1f} ms, max {:.1f} ms\n", json ? "ecli --json" : "ecli (table)",
                 delays[delays.size() / 2], delays.back());
    close(pipefd[0]);
    close(go[0]);
    close(go[1]);
  }
  fs::remove_all(work);
  return 0;
}
