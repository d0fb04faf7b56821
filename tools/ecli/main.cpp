// ecli: run an eBPF package, object or C source and print what it reports.
#include <CLI/CLI.hpp>

#include <iostream>

#include "distribution_commands.hpp"
#include "runtime/runner.hpp"
#include "runtime/target.hpp"
#include "util/error.hpp"

namespace {

int report(const ecli::Error& e) {
  if (!e.details().empty()) std::cerr << e.details();
  std::cerr << "ecli: " << e.what() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Run eBPF programs packaged by ecc: options, output and attachment are generated from the program.",
               "ecli");
  app.set_version_flag("-V,--version", std::string("ecli ") + ECLI_VERSION);
  app.require_subcommand(1);

  ecli::runtime::RunOptions options;
  CLI::App* run = app.add_subcommand("run", "Load, attach and run TARGET until Ctrl-C, SIGTERM or --duration");
  run->prefix_command();  // everything after TARGET belongs to the program
  run->add_option("-d,--duration", options.duration, "Stop after SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::NonNegativeNumber);
  bool no_trace_pipe = false;
  run->add_flag("--no-trace-pipe", no_trace_pipe, "Do not stream bpf_printk output");
  run->add_flag("-v,--verbose", options.verbose, "Show libbpf's messages");
  bool json = false, csv = false;
  auto* json_flag = run->add_flag("-j,--json", json, "Print events as JSON lines");
  run->add_flag("--csv", csv, "Print events as CSV")->excludes(json_flag);
  run->add_option("--sort", options.sort_by, "Sort sampled tables by this field (largest first)")
      ->type_name("FIELD");
  run->add_option("--top", options.top, "Show only the first N rows of sampled tables")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--ifname", options.net.ifnames, "Interface for tc/XDP programs: NAME, or PROG=NAME for one")
      ->type_name("[PROG=]NAME")
      ->allow_extra_args(false);
  run->add_option("--ifindex", options.net.ifindexes, "Interface index for tc/XDP programs: N, or PROG=N")
      ->type_name("[PROG=]N")
      ->allow_extra_args(false);
  run->add_option("--cgroup", options.net.cgroup, "Cgroup for cgroup programs (default: the cgroup v2 root)")
      ->type_name("PATH");
  run->add_flag("--tc-netlink", options.net.tc_netlink, "Attach tc programs as netlink filters, not tcx links");
  double interval = 0;
  run->add_option("-i,--interval", interval, "Also print the tool's results (maps and globals it fills) every SECONDS")
      ->type_name("SECONDS")
      ->check(CLI::PositiveNumber);
  run->add_option("--metrics", options.metrics,
                  "Serve the results, sampled maps and event counts as Prometheus metrics on /metrics")
      ->type_name("[ADDR:]PORT");
  run->add_flag("--containers", options.containers,
                "Add the container's id and name to every event and table row that carries a pid or cgroup id");
  run->add_option("--container", options.container,
                  "Only this container (name, id or id prefix): in the kernel when the program has a cgroup filter "
                  "(filter_cg), else by the rows' pid or cgroup id; implies --containers")
      ->type_name("NAME|ID");
  run->add_flag("--clear", options.clear, "Empty each printed result after each --interval print");
  run->add_flag("--per-cpu", options.per_cpu, "Print per-CPU maps with a row per CPU instead of their sum");
  run->add_flag("--strict", options.strict,
                "Load every program or none: no choosing between versions of a hook, no skipping what cannot run");
  run->add_option("--max-entries", options.max_entries, "Set a map's max_entries (repeatable)")
      ->type_name("MAP=N")
      ->allow_extra_args(false);
  run->add_option("--binary", options.user_probes.binaries,
                  "Binary of uprobe/USDT programs (a path, library or program name; PROG= for one program; "
                  ":FUNCTION or :PROVIDER:NAME when SEC() names none)")
      ->type_name("[PROG=]PATH[:FUNC]")
      ->allow_extra_args(false);
  auto* pid_option = run->add_option("-p,--pid", options.user_probes.pid,
                                     "Trace one process: uprobe/USDT programs, and programs with a pid filter "
                                     "(targ_pid...)")
                         ->type_name("PID")
                         ->check(CLI::PositiveNumber);
  run->add_option("-c,--command", options.command,
                  "Run CMD (split into words like a shell, not run by one) once everything is attached, trace it "
                  "as with -p, and stop when it exits")
      ->type_name("\"CMD ARGS\"")
      ->excludes(pid_option);
  auto* frequency = run->add_option("-F,--frequency", options.perf.frequency,
                                    "perf_event programs: samples per second on each CPU (default 49)")
                        ->type_name("HZ");
  run->add_option("--period", options.perf.period, "perf_event programs: sample every N events instead")
      ->type_name("N")
      ->check(CLI::PositiveNumber)
      ->excludes(frequency);
  run->add_option("--event", options.perf.event,
                  "perf_event programs: the event sampled (default cpu-clock; task-clock, page-faults, "
                  "context-switches, cpu-migrations, cycles, instructions...)")
      ->type_name("NAME");
  run->add_option("--cpu", options.perf.cpus, "perf_event programs: only these CPUs (default: every online CPU)")
      ->type_name("LIST");
  run->add_option("--format", options.output.formats,
                  "Print FIELD as KIND (repeatable): ipv4, ipv6, ip, port, errno, signal, open_flags, ksym, hex, "
                  "ns, us, ms; FIELD may start with the ring buffer's or map's name (events.saddr)")
      ->type_name("FIELD=KIND")
      ->allow_extra_args(false);
  run->add_flag("--folded", options.output.folded,
                "Print stacks folded, one line per unique stack with its count (flamegraph.pl and speedscope input)");
  run->add_option("--flamegraph", options.output.flamegraph, "Write the stacks as an interactive SVG flame graph")
      ->type_name("FILE.svg");
  run->add_flag("--lines", options.output.lines, "Show source file:line and inlined functions in stacks (debug info)");
  std::string fields;  // one argument, split here: a list option would swallow TARGET
  run->add_option("--fields", fields, "Print only these event fields, in this order")->type_name("NAME,...");
  run->footer(
      "TARGET is a package.json from ecc, a BPF object (x.bpf.o) or a BPF C source (x.bpf.c, compiled on the fly),\n"
      "or a package at an http(s) URL or in an OCI registry (HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST]).\n"
      "Program options follow TARGET; `ecli run TARGET --help` lists them.");

  CLI::App* cleanup = app.add_subcommand(
      "cleanup", "Remove the tc filters that ecli runs killed with -9 left behind (tcx, XDP and cgroup links never stay)");

  ecli::cli::DistributionCommands distribution(app, *run, options.source);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "ecli: " << e.what() << " (see ecli --help)\n";
    return 2;
  }
  if (cleanup->parsed()) {
    auto removed = ecli::runtime::cleanup_stale_tc_filters();
    for (const auto& line : removed) std::cerr << "ecli: " << line << "\n";
    if (removed.empty()) std::cerr << "ecli: nothing to clean up\n";
    return 0;
  }
  if (std::optional<int> code = distribution.dispatch()) return *code;
  if (frequency->count() && !(options.perf.frequency > 0)) {
    std::cerr << "ecli: -F/--frequency " << frequency->as<std::string>() << ": the frequency must be more than 0 Hz\n";
    return 2;
  }
  std::vector<std::string> rest = run->remaining();
  if (rest.empty()) {
    std::cerr << "ecli: run needs a TARGET: a package.json, a .bpf.o, a .bpf.c, a URL or a registry REF (see ecli run --help)\n";
    return 2;
  }
  options.target = rest.front();
  options.program_args.assign(rest.begin() + 1, rest.end());
  options.trace_pipe = !no_trace_pipe;
  options.interval_ms = static_cast<int64_t>(interval * 1000 + 0.5);
  for (const CLI::Option* opt : run->get_options()) {
    for (const auto& name : opt->get_snames()) options.own_options.push_back("-" + name);
    for (const auto& name : opt->get_lnames()) options.own_options.push_back("--" + name);
  }
  for (size_t start = 0; start < fields.size();) {
    size_t comma = std::min(fields.find(',', start), fields.size());
    if (comma > start) options.output.fields.push_back(fields.substr(start, comma - start));
    start = comma + 1;
  }
  options.output.format = json ? ecli::output::Format::Json
                               : csv ? ecli::output::Format::Csv : ecli::output::Format::Table;

  try {
    return ecli::runtime::run(options);
  } catch (const ecli::Error& e) {
    return report(e);
  } catch (const std::exception& e) {
    std::cerr << "ecli: " << e.what() << "\n";
    return 1;
  }
}
