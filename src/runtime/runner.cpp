#include "runtime/runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <iostream>
#include <memory>

#include "runtime/attach.hpp"
#include "runtime/child_command.hpp"
#include "runtime/container_filter.hpp"
#include "containers/directory.hpp"
#include "runtime/event_streams.hpp"
#include "runtime/libbpf_log.hpp"
#include "runtime/loader.hpp"
#include "runtime/map_sizing.hpp"
#include "runtime/messages.hpp"
#include "runtime/options.hpp"
#include "runtime/program_choice.hpp"
#include "runtime/run_loop.hpp"
#include "runtime/metrics_server.hpp"
#include "runtime/sampler.hpp"
#include "runtime/stack_resolver.hpp"
#include "runtime/target.hpp"
#include "runtime/trace_pipe.hpp"
#include "runtime/uprobe_attach.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

// How fields read in this run: --format, then the package's @format annotations
// (struct fields in meta.field_formats, globals in their "format" key).
output::FieldFormats field_formats_of(const package::Meta& meta, const std::vector<std::string>& requests) {
  output::FieldFormats formats = output::parse_field_formats(
      requests, meta.extra_meta.contains("field_formats") ? meta.extra_meta.at("field_formats") : package::Json());
  for (const auto& section : meta.data_sections)
    for (const auto& var : section.variables)
      if (var.extra.is_object() && var.extra.contains("format") && var.extra.at("format").is_string())
        formats.globals[var.name] = var.extra.at("format").get<std::string>();
  return formats;
}

// --flamegraph FILE: opened before anything is loaded, so that a path that
// cannot be written fails the run before it starts; written at exit.
class FlameGraphFile {
 public:
  explicit FlameGraphFile(const std::string& path) : path_(path) {
    if (path.empty()) return;
    fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) throw Error(fmt::format("cannot write the flame graph to {}: {}", path, std::strerror(errno)));
  }
  ~FlameGraphFile() {
    if (fd_ >= 0) close(fd_);
  }
  FlameGraphFile(const FlameGraphFile&) = delete;
  FlameGraphFile& operator=(const FlameGraphFile&) = delete;

  void write(const output::FoldedStacks& folded, const std::string& title) {
    if (fd_ < 0) return;
    output::FlameGraphOptions options;
    options.title = title;
    options.count_name = folded.unit();
    std::string svg = output::flamegraph_svg(folded, options);
    bool ok = ftruncate(fd_, 0) == 0;
    for (size_t done = 0; ok && done < svg.size();) {
      ssize_t n = ::write(fd_, svg.data() + done, svg.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<size_t>(n);
    }
    if (!ok) throw Error(fmt::format("cannot write the flame graph to {}: {}", path_, std::strerror(errno)));
    std::cerr << fmt::format("ecli: wrote a flame graph of {} stacks ({} {}) to {}\n", folded.counts().size(),
                             folded.total(), folded.unit(), path_);
  }

 private:
  std::string path_;
  int fd_ = -1;
};

// --container without the program's own cgroup filter: rows are matched by
// their pid or cgroup id. Nothing to match them by is an error before
// anything is attached; a stream or table without them is printed unfiltered.
void check_user_space_container_filter(const EventStreams& events, const Sampler& sampler, const std::string& name) {
  if (!events.any_stream_with_containers() && !sampler.any_map_with_containers())
    throw Error(fmt::format("--container {}: this program cannot be limited to a container: it has no cgroup filter "
                            "(a filter_cg global and a cgroup array map) and its events and tables carry no pid or "
                            "cgroup id",
                            name));
  std::vector<std::string> blind = events.streams_without_containers();
  for (auto& map : sampler.maps_without_containers()) blind.push_back(map);
  for (const auto& map : blind)
    warn(fmt::format("--container {}: the rows of '{}' carry no pid or cgroup id; they are shown for every container",
                     name, map));
}

}  // namespace

int run(const RunOptions& options) {
  capture_libbpf_log(options.verbose);
  // Signals are blocked from here on, so Ctrl-C during set-up ends the run
  // cleanly once it starts instead of killing it half attached.
  RunLoop loop;
  check_perf_event_options(options.perf);
  // --metrics: the port is taken before anything is forked, loaded or attached,
  // so a port in use fails with nothing done (and after RunLoop blocked the signals).
  std::unique_ptr<MetricsServer> metrics;
  if (!options.metrics.empty()) metrics = std::make_unique<MetricsServer>(options.metrics);
  // -c: found and forked before anything loads, held until everything is attached; it is the process traced.
  std::unique_ptr<ChildCommand> child;
  UserProbeOptions user_probes = options.user_probes;
  if (!options.command.empty()) {
    child = std::make_unique<ChildCommand>(options.command, options.verbose);
    user_probes.pid = child->pid();
  }

  FlameGraphFile flamegraph(options.output.flamegraph);
  // --container: resolved before anything is loaded, so that a wrong name fails at once.
  std::unique_ptr<containers::ContainerDirectory> container_directory;
  std::optional<containers::FoundContainer> only_container;
  if (options.containers || !options.container.empty())
    container_directory = std::make_unique<containers::ContainerDirectory>();
  if (!options.container.empty()) only_container = container_directory->find(options.container);
  std::optional<KernelCgroupFilter> kernel_cgroup_filter;
  TargetOptions target_options = options.source;
  target_options.prepare_trace_pipe = options.trace_pipe;
  Target target = load_target(options.target, options.verbose, target_options);
  ProgramChoice choice(options.strict);
  MapSizing sizing(options.max_entries);
  LoadPolicy policy{&choice, &sizing,
                    [&](struct bpf_object* o) { prepare_tcx_hooks(o, target.package.meta, options.net); }};

  // One attempt loads the object, opens its sources and attaches. A program
  // that cannot attach while another version of its hook was not loaded
  // means another attempt, without it.
  std::optional<std::vector<GlobalSetting>> settings;
  std::unique_ptr<BpfObject> object;
  output::FieldFormats formats;
  std::unique_ptr<StackResolver> stacks;
  output::FoldedStacks folded;
  bool folding = options.output.folded || !options.output.flamegraph.empty();
  std::unique_ptr<EventStreams> events_owner;
  std::unique_ptr<Sampler> sampler_owner;
  std::unique_ptr<TracePipe> trace;
  Attachments attachments(user_probes, options.perf);
  if (child) attachments.set_default_binary(child->executable());
  std::vector<std::string> report;
  for (;;) {
    object = std::make_unique<BpfObject>(target.package, policy);
    if (!settings) {
      ProgramOptions program_options(
          "ecli run " + target.usage_name, target.package.meta,
          make_option_specs(target.package.meta, object->globals(),
                            [&](const btf::GlobalVariable& var) { return object->initial_bytes(var); }));
      try {
        settings = program_options.parse(options.program_args);
      } catch (const Error& e) {
        for (const auto& arg : options.program_args)
          for (const auto& own : options.own_options)
            if (arg == own || arg.starts_with(own + "="))
              throw Error(std::string(e.what()) + "; ecli's own options such as " + own + " go before TARGET");
        throw;
      }
      if (!settings) {
        std::cout << program_options.help() << std::flush;
        return 0;
      }
      apply_pid_option(user_probes.pid, object->get(), object->globals(), *settings);
      if (only_container) {
        kernel_cgroup_filter = find_kernel_cgroup_filter(object->get(), object->globals());
        if (kernel_cgroup_filter) settings->push_back(enable_setting(*kernel_cgroup_filter));
      }
    }
    object->apply(*settings);
    object->load();
    if (kernel_cgroup_filter) fill_cgroup_filter(object->get(), *kernel_cgroup_filter, only_container->cgroup_dir);

    // Streams and the trace instance exist before anything is attached, so no event is lost.
    formats = field_formats_of(target.package.meta, options.output.formats);
    stacks = std::make_unique<StackResolver>(*object, target.package.meta, symbols::SymbolizerOptions{options.output.lines});
    stacks->set_default_pid(user_probes.pid);
    // -p: its mappings now, so that its stacks still resolve if it exits before the print.
    if (!child && user_probes.pid > 0) stacks->remember_process(user_probes.pid);
    events_owner = std::make_unique<EventStreams>(*object, target.package.meta, options.output, formats, stacks.get(),
                                                  folding ? &folded : nullptr);
    sampler_owner = std::make_unique<Sampler>(
        *object, target.package.meta,
        SampleOptions{options.output.format, options.sort_by, options.top, options.verbose, options.interval_ms,
                      options.clear, options.per_cpu, &formats, stacks.get(), folding ? &folded : nullptr,
                      metrics != nullptr});
    if (options.trace_pipe && object->uses_trace_printk()) {
      if (target.trace_pipe.valid()) {
        try {
          trace = target.trace_pipe.get();
        } catch (const std::exception&) {
          // opened again below, for its message
        }
      }
      if (!trace) trace = TracePipe::open();
    }
    if (container_directory) {
      // --container implies the columns; the kernel's filter needs no second one here.
      std::string only_id = only_container && !kernel_cgroup_filter ? only_container->id : std::string();
      events_owner->set_containers(container_directory.get(), true, only_id);
      sampler_owner->set_containers(container_directory.get(), true, only_id);
      if (!only_id.empty()) check_user_space_container_filter(*events_owner, *sampler_owner, options.container);
      else if (!only_container)
        for (const auto& map : events_owner->streams_without_containers())
          warn(fmt::format("--containers: the events of '{}' carry no pid or cgroup id; they get no container columns",
                           map));
    }

    report.clear();
    if (attachments.attach_all(*object, target.package.meta, options.net, &choice, report)) break;
    attachments.detach_all();
    trace.reset();
    sampler_owner.reset();
    events_owner.reset();
  }
  if (target.trace_pipe.valid()) target.trace_pipe = {};  // opened for a source that did not print after all
  EventStreams& events = *events_owner;
  Sampler& sampler = *sampler_owner;
  // Formats that did not fit their field, or named none, in the streams or the printed maps.
  for (const auto& line : formats.warnings) warn(line);
  for (const auto& line : output::unmatched_requests(formats)) warn(line);
  events.print_header();
  choice.check_every_hook_runs(object->get());
  if (attachments.size() == 0 && choice.any_excluded()) choice.throw_nothing_runs();
  for (const auto& line : choice.report(object->get())) std::cerr << "ecli: " << line << "\n";
  if (options.verbose)
    for (const auto& line : object->sizing_report()) std::cerr << "ecli: " << line << "\n";
  for (const auto& line : report) std::cerr << "ecli: " << line << "\n";
  if (attachments.size() == 0) std::cerr << "ecli: warning: no program was attached\n";
  if (only_container)
    std::cerr << fmt::format("ecli: --container {}: {} {} ({}), {}\n", options.container,
                             containers::runtime_name(only_container->runtime),
                             only_container->id.substr(0, output::kShortIdLength),
                             only_container->name.empty() ? "no name" : only_container->name,
                             kernel_cgroup_filter ? "filtered in the kernel through " + kernel_cgroup_filter->flag.name
                                                  : std::string("filtered by the rows' pid or cgroup id"));
  std::cerr << "ecli: running" << (options.duration > 0 ? fmt::format(" for {:g} s", options.duration) : "")
            << "; press Ctrl-C to stop" << std::endl;
  if (child) {
    // Its mappings, read after exec and just before it exits, resolve its stacks once it is gone.
    child->on_mappings = [&](pid_t pid) { stacks->remember_process(pid); };
    child->release();
    for (int fd : child->watch_fds()) loop.watch(fd, [&] { return child->on_ready(); });
  }

  std::string lines;
  auto drain_trace = [&]() {
    lines.clear();
    bool alive = trace->read_lines(lines);
    return write_stdout(lines) && alive;
  };
  if (trace) loop.watch(trace->fd(), drain_trace);
  if (!events.empty()) {
    for (int fd : events.wakeup_fds()) loop.watch(fd, [&] { return events.drain(); });
    if (events.ring_wakeup_fd() >= 0) loop.watch(events.ring_wakeup_fd(), [&] { return events.on_ring_wakeup(); });
    loop.every([&] { return events.next_timeout_ms(); }, [&] { return events.drain(); });
  }
  if (!sampler.empty()) loop.every([&] { return sampler.next_timeout_ms(); }, [&] { return sampler.tick(); });
  output::Buffer exposition;
  auto publish_metrics = [&] {
    exposition.clear();
    sampler.append_metrics(exposition);
    output::append_event_counts(exposition, events.counts());
    metrics->publish(std::string(exposition.data(), exposition.size()));
  };
  if (metrics) {
    publish_metrics();
    loop.watch(metrics->request_fd(), [&] {
      publish_metrics();
      return true;
    });
  }
  loop.run(options.duration);
  if (child) {
    child->stop();  // SIGTERM when ecli stopped first
    std::cerr << "ecli: command (pid " << child->pid() << ") " << child->describe_status() << "\n";
  }

  attachments.detach_all();
  // What the programs sent just before detaching.
  if (trace) drain_trace();
  if (!events.empty()) {
    events.drain();
    events.flush(true);
    events.report_totals();
  }
  if (metrics) publish_metrics();  // scrapes from now on until exit get the final numbers
  if (!sampler.empty()) sampler.snapshot_all();  // the last interval, however short
  if (options.output.folded) {
    output::Buffer out;
    folded.write(out);
    write_stdout(std::string_view(out.data(), out.size()));
  }
  if (folding && folded.empty()) warn("no stacks were collected to fold");
  flamegraph.write(folded, target.usage_name);
  for (const auto& line : stacks->lost_report()) std::cerr << "ecli: " << line << "\n";
  return 0;
}

}  // namespace ecli::runtime
