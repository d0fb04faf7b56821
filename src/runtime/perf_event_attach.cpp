#include "runtime/perf_event_attach.hpp"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <optional>

#include <fmt/format.h>

#include "runtime/libbpf_log.hpp"
#include "runtime/loader.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

constexpr uint64_t kDefaultFrequency = 49;
constexpr const char* kMaxRateFile = "/proc/sys/kernel/perf_event_max_sample_rate";

struct EventName {
  const char* name;
  uint32_t type;
  uint64_t config;
};

// perf's names (`perf list`), aliases after the main name.
constexpr EventName kEvents[] = {
    {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
    {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
    {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
    {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
    {"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
};

const EventName& find_event(const std::string& name, const std::string& what) {
  for (const auto& e : kEvents)
    if (name == e.name) return e;
  std::string software, hardware;
  for (const auto& e : kEvents) (e.type == PERF_TYPE_SOFTWARE ? software : hardware) += std::string(" ") + e.name;
  throw Error(fmt::format("{}: unknown event '{}'; software events:{}; hardware events:{}", what, name, software,
                          hardware));
}

std::string read_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// "0,2-3" -> {0, 2, 3}; throws naming `what`.
std::vector<int> parse_cpu_list(const std::string& text, const std::string& what) {
  std::vector<int> cpus;
  auto number = [&](const std::string& s) {
    char* end = nullptr;
    errno = 0;
    long v = s.empty() || !std::isdigit(static_cast<unsigned char>(s[0])) ? -1 : std::strtol(s.c_str(), &end, 10);
    if (v < 0 || errno || *end || v > 1 << 20)
      throw Error(fmt::format("{}: '{}' is not a CPU list such as 0,2-3", what, text));
    return static_cast<int>(v);
  };
  for (size_t start = 0; start <= text.size();) {
    size_t comma = std::min(text.find(',', start), text.size());
    std::string item = text.substr(start, comma - start);
    size_t dash = item.find('-');
    int first = number(item.substr(0, dash));
    int last = dash == std::string::npos ? first : number(item.substr(dash + 1));
    if (last < first) throw Error(fmt::format("{}: '{}' is not a CPU list such as 0,2-3", what, text));
    for (int c = first; c <= last; c++)
      if (std::find(cpus.begin(), cpus.end(), c) == cpus.end()) cpus.push_back(c);
    start = comma + 1;
  }
  return cpus;
}

std::vector<int> system_cpus(const char* file) {
  std::string text = read_line(file);
  if (text.empty()) throw Error(fmt::format("cannot read {}", file));
  return parse_cpu_list(text, file);
}

std::vector<int> chosen_cpus(const std::string& cpus) {
  if (cpus.empty()) return system_cpus("/sys/devices/system/cpu/online");
  std::vector<int> list = parse_cpu_list(cpus, "--cpu");
  std::vector<int> possible = system_cpus("/sys/devices/system/cpu/possible");
  for (int c : list)
    if (std::find(possible.begin(), possible.end(), c) == possible.end())
      throw Error(fmt::format("--cpu {}: there is no CPU {} (possible CPUs: {})", cpus, c,
                              read_line("/sys/devices/system/cpu/possible")));
  return list;
}

void check_frequency(double hz, const std::string& what) {
  if (!(hz > 0) || !std::isfinite(hz)) throw Error(fmt::format("{}: the frequency must be more than 0 Hz", what));
  if (std::llround(hz) < 1) throw Error(fmt::format("{}: the frequency must be at least 1 Hz", what));
  std::string max = read_line(kMaxRateFile);
  if (!max.empty() && std::llround(hz) > std::atoll(max.c_str()))
    throw Error(fmt::format("{}: {} Hz is above the kernel's limit of {} Hz ({})", what, std::llround(hz), max,
                            kMaxRateFile));
}

int perf_event_open(struct perf_event_attr* attr, int cpu) {
  return static_cast<int>(syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

void check_perf_event_options(const PerfEventOptions& options) {
  if (options.frequency != 0 && options.period != 0)
    throw Error("-F/--frequency and --period exclude each other: give one");
  if (options.frequency != 0) check_frequency(options.frequency, "-F/--frequency");
  if (!options.event.empty()) find_event(options.event, "--event");
  if (!options.cpus.empty()) chosen_cpus(options.cpus);
}

bool is_perf_event_program(const struct bpf_program* prog) {
  return bpf_program__type(prog) == BPF_PROG_TYPE_PERF_EVENT;
}

PerfEventPlan plan_perf_event(const package::Prog* info, const PerfEventOptions& options,
                              std::vector<std::string>& warnings) {
  // The annotation: {"event": NAME, "frequency": HZ} or {"event": NAME, "period": N}.
  std::string event;
  double frequency = 0;
  uint64_t period = 0;
  if (info && info->extra.is_object() && info->extra.contains("perf")) {
    const package::Json& perf = info->extra.at("perf");
    std::string what = fmt::format("program {}: @perf {}", info->name,
                                   perf.is_string() ? perf.get<std::string>() : perf.dump());
    try {
      if (!perf.is_object()) throw Error("not a JSON object such as {\"event\": \"cpu-clock\", \"frequency\": 99}");
      for (const auto& [key, value] : perf.items()) {
        if (key == "event") {
          if (!value.is_string()) throw Error("\"event\" must be a name such as \"cpu-clock\"");
          event = value.get<std::string>();
          find_event(event, "event");
        } else if (key == "frequency") {
          if (!value.is_number()) throw Error("\"frequency\" must be a number of Hz");
          frequency = value.get<double>();
          check_frequency(frequency, "frequency");
        } else if (key == "period") {
          if (!value.is_number_unsigned() || value.get<uint64_t>() == 0)
            throw Error("\"period\" must be a whole number of events above 0");
          period = value.get<uint64_t>();
        } else {
          throw Error(fmt::format("unknown key \"{}\" (the keys are event, frequency and period)", key));
        }
      }
      if (frequency != 0 && period != 0) throw Error("frequency and period exclude each other");
    } catch (const Error& e) {
      warnings.push_back(fmt::format("{}: {}; using the defaults", what, e.what()));
      event.clear();
      frequency = 0;
      period = 0;
    }
  }
  if (!options.event.empty()) event = options.event;
  if (options.frequency != 0 || options.period != 0) {
    frequency = options.frequency;
    period = options.period;
  }
  PerfEventPlan plan;
  plan.event = event.empty() ? "cpu-clock" : event;
  const EventName& e = find_event(plan.event, "--event");
  plan.type = e.type;
  plan.config = e.config;
  plan.frequency_mode = period == 0;
  plan.value = period != 0 ? period : frequency != 0 ? static_cast<uint64_t>(std::llround(frequency)) : kDefaultFrequency;
  plan.cpus = chosen_cpus(options.cpus);
  return plan;
}

std::string describe(const PerfEventPlan& plan) {
  if (plan.frequency_mode) return fmt::format("{} at {} Hz", plan.event, plan.value);
  return fmt::format("{} every {} {}", plan.event, plan.value,
                     plan.type == PERF_TYPE_SOFTWARE && plan.config <= PERF_COUNT_SW_TASK_CLOCK ? "ns" : "events");
}

std::vector<struct bpf_link*> attach_perf_event(struct bpf_program* prog, const PerfEventPlan& plan,
                                                std::vector<std::string>& report) {
  const std::string label = "program " + program_label(prog);
  std::vector<struct bpf_link*> links;
  std::vector<std::string> skipped;
  auto fail = [&](const std::string& message) {
    for (struct bpf_link* link : links) bpf_link__destroy(link);
    throw Error(message);
  };
  for (int cpu : plan.cpus) {
    struct perf_event_attr attr {};
    attr.size = sizeof(attr);
    attr.type = plan.type;
    attr.config = plan.config;
    attr.freq = plan.frequency_mode;
    if (plan.frequency_mode) attr.sample_freq = plan.value;
    else attr.sample_period = plan.value;
    attr.disabled = 1;  // libbpf enables it once the program is attached
    int fd = perf_event_open(&attr, cpu);
    if (fd < 0) {
      int err = errno;
      if (plan.type == PERF_TYPE_HARDWARE && (err == ENOENT || err == EOPNOTSUPP))
        fail(fmt::format("cannot attach {}: event {} needs hardware performance counters, which this machine does "
                         "not have ({}); use --event cpu-clock",
                         label, plan.event, errno_text(err)));
      if (err == EINVAL && plan.frequency_mode)
        fail(fmt::format("cannot attach {}: {} Hz is refused (see {}): {}", label, plan.value, kMaxRateFile,
                         errno_text(err)));
      skipped.push_back(fmt::format("CPU {} ({})", cpu, err == ENODEV ? "offline" : errno_text(err)));
      continue;
    }
    clear_libbpf_log();
    struct bpf_link* link = bpf_program__attach_perf_event(prog, fd);
    if (long err = libbpf_get_error(link)) {
      close(fd);  // the link owns the fd only once it exists
      std::string why = last_libbpf_message();
      skipped.push_back(fmt::format("CPU {} ({}{})", cpu, errno_text(static_cast<int>(-err)),
                                    why.empty() ? "" : ": " + why));
      continue;
    }
    links.push_back(link);
  }
  std::string skipped_text;
  for (const auto& s : skipped) skipped_text += (skipped_text.empty() ? "" : ", ") + s;
  if (links.empty())
    fail(fmt::format("cannot attach {} to {} on any CPU: {}", label, describe(plan),
                     skipped_text.empty() ? "no CPU chosen" : skipped_text));
  report.push_back(fmt::format("attached {} to {} on {} CPU{}", bpf_program__name(prog), describe(plan),
                               links.size(), links.size() == 1 ? "" : "s"));
  if (!skipped.empty())
    report.push_back(fmt::format("{}: skipped {}", bpf_program__name(prog), skipped_text));
  return links;
}

}  // namespace ecli::runtime
