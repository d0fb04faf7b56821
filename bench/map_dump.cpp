// One snapshot of a sampled hash map with 10,000 and 100,000 keys: ecli's
// read + decode + print (its own -v timing) against `bpftool map dump` of the
// same map, in one run. Output of both goes to /dev/null. ecli runs the map
// twice: marked `@sample`, and without the annotation, printed at exit as a
// result (issue 9).
//
//   bench_map_dump [RUNS]
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Timing {
  double wall_ms, cpu_ms;
};

std::string read_all(const fs::path& file) {
  std::ifstream in(file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string capture(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p) pclose(p);
  return out;
}

// Wall and CPU time of a command whose output goes to /dev/null.
Timing time_command(std::vector<std::string> argv) {
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    dup2(devnull, 2);
    std::vector<char*> c;
    for (auto& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    execvp(c[0], c.data());
    _exit(127);
  }
  int status;
  struct rusage ru {};
  wait4(pid, &status, 0, &ru);
  double wall = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  double cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  return {wall, cpu};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  fs::path work = fs::temp_directory_path() / fmt::format("ecli-mapdump-{}", getpid());
  fs::create_directories(work);
  setenv("ECLI_CACHE_DIR", (work / "cache").c_str(), 1);
  std::string package = (work / "pkg/package.json").string();
  if (system(fmt::format("{} -q -o {} {}/bench/data/fill.bpf.c", ECC_BIN, (work / "pkg").string(), ECLI_SOURCE_DIR)
                 .c_str()) != 0)
    return 1;
  // The same package with the map's @sample removed: ecc's role "result" makes ecli print it at exit.
  std::string unannotated = (work / "pkg/unannotated.json").string();
  {
    auto j = nlohmann::json::parse(read_all(package));
    for (auto& m : j["meta"]["bpf_skel"]["maps"])
      if (m["name"] == "bench_counts") m.erase("sample");
    std::ofstream(unannotated) << j.dump();
  }

  fmt::print("{:>8}  {:<34} {:>10} {:>10}\n", "keys", "tool", "wall ms", "CPU ms");
  for (int entries : {10000, 100000}) {
    std::vector<double> ecli_wall, ecli_cpu, exit_wall, exit_cpu, plain_wall, plain_cpu, json_wall, json_cpu;
    for (int run = 0; run < 2 * runs; run++) {
      bool annotated = run % 2 == 0;  // alternate the two forms
      const std::string& pkg = annotated ? package : unannotated;
      // The trigger fills the map once ecli is running.
      int go[2];
      if (pipe(go)) return 1;
      pid_t trigger = fork();
      if (trigger == 0) {
        char c;
        if (read(go[0], &c, 1) == 1) getppid();
        _exit(0);
      }
      fs::path err = work / "err.txt";
      fs::remove(err);  // the last run's log already says "running"
      pid_t ecli = fork();
      if (ecli == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(devnull, 1);
        dup2(e, 2);
        std::string t = std::to_string(trigger), n = std::to_string(entries);
        execl(ECLI_BIN, ECLI_BIN, "run", "-v", pkg.c_str(), "--target", t.c_str(), "--entries", n.c_str(), nullptr);
        _exit(127);
      }
      for (auto deadline = Clock::now() + 20s;
           Clock::now() < deadline && read_all(err).find("ecli: running") == std::string::npos;)
        std::this_thread::sleep_for(10ms);
      (void)!write(go[1], "g", 1);
      waitpid(trigger, nullptr, 0);
      close(go[0]);
      close(go[1]);

      auto maps = nlohmann::json::parse(capture("bpftool -j map show name bench_counts"), nullptr, false);
      if (maps.is_object()) maps = nlohmann::json::array({maps});  // one match comes as an object
      if (maps.is_discarded() || !maps.is_array() || maps.empty()) {
        fmt::print("cannot find the map with bpftool\n");
        kill(ecli, SIGKILL);
        return 1;
      }
      std::string id = std::to_string(maps.back()["id"].get<int>());
      if (annotated) {
        Timing plain = time_command({"bpftool", "map", "dump", "id", id});
        Timing json = time_command({"bpftool", "-j", "map", "dump", "id", id});
        plain_wall.push_back(plain.wall_ms), plain_cpu.push_back(plain.cpu_ms);
        json_wall.push_back(json.wall_ms), json_cpu.push_back(json.cpu_ms);
      }

      // SIGINT: ecli prints its last snapshot (the only one: the interval is long) and says how long it took.
      kill(ecli, SIGINT);
      waitpid(ecli, nullptr, 0);
      std::string log = read_all(err);
      size_t at = log.find("sampled map 'bench_counts': ");
      if (at == std::string::npos) {
        fmt::print("ecli printed no timing:\n{}\n", log);
        return 1;
      }
      long n = 0;
      double read_ms = 0, total_ms = 0, cpu_ms = 0;
      sscanf(log.c_str() + at, "sampled map 'bench_counts': %ld entries, read %lf ms, total %lf ms, cpu %lf ms", &n,
             &read_ms, &total_ms, &cpu_ms);
      if (n != entries) fmt::print("ecli read {} entries, expected {}\n", n, entries);
      (annotated ? ecli_wall : exit_wall).push_back(total_ms);
      (annotated ? ecli_cpu : exit_cpu).push_back(cpu_ms);
    }
    fmt::print("{:>8}  {:<34} {:>10.1f} {:>10.1f}\n", entries, "ecli snapshot (table)", median(ecli_wall),
               median(ecli_cpu));
    fmt::print("{:>8}  {:<34} {:>10.1f} {:>10.1f}\n", entries, "ecli exit print, no annotation", median(exit_wall),
               median(exit_cpu));
    fmt::print("{:>8}  {:<34} {:>10.1f} {:>10.1f}\n", entries, "bpftool map dump", median(plain_wall),
               median(plain_cpu));
    fmt::print("{:>8}  {:<34} {:>10.1f} {:>10.1f}\n", entries, "bpftool -j map dump", median(json_wall),
               median(json_cpu));
  }
  fs::remove_all(work);
  return 0;
}
