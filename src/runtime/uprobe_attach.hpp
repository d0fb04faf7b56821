#pragma once
// uprobe, uretprobe and USDT programs: which binary, function and process
// each one goes to, chosen at run time.
//
// libbpf attaches these by itself only when the section names both the binary
// and the function (`uprobe//bin/bash:readline`). libbpf-style code also
// writes `SEC("uprobe/readline")` or a bare `SEC("uprobe")`/`SEC("usdt")` and
// lets user space say where; here that is `--binary [PROG=]PATH[:FUNCTION]`
// (USDT: `PATH:PROVIDER:NAME`) and `--pid PID`. A binary without a slash is
// looked up as the dynamic linker would (ld.so.cache, the standard library
// folders), or on PATH for a program name, as bpftrace does.
//
// --pid also limits programs that filter their events by process through a
// global (see process_filters()).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "btf/object_meta.hpp"
#include "btf/value_type.hpp"
#include "runtime/options.hpp"

struct bpf_object;
struct bpf_program;
struct bpf_link;

namespace ecli::runtime {

struct UserProbeOptions {
  // --binary: "[PROG=]PATH[:FUNCTION]" (USDT: "[PROG=]PATH[:PROVIDER:NAME]").
  // Without PROG= it is the binary of every uprobe and USDT program.
  std::vector<std::string> binaries;
  int pid = 0;  // --pid; 0: every process
};

// Where one uprobe, uretprobe or USDT program goes.
struct UserProbeTarget {
  enum class Kind { Uprobe, UprobeMulti, Usdt } kind = Kind::Uprobe;
  bool retprobe = false;
  std::string binary;      // a path to an ELF file
  std::string function;    // uprobe: symbol (empty when `offset` alone is given); multi: a pattern
  uint64_t offset = 0;     // uprobe: into `function`, or into the file without one
  std::string provider, name;  // USDT
  int pid = -1;            // -1: every process
};

// True for uprobe, uretprobe and USDT programs (also sleepable and multi).
bool is_user_probe(const struct bpf_program* prog);

// Plans every loaded user probe of `object` before anything is attached.
// Throws ecli::Error, naming the option, for a binary that is missing, not
// ELF or not given, a function or USDT probe named nowhere, and a --binary
// PROG= that names no such program.
std::map<const struct bpf_program*, UserProbeTarget> plan_user_probes(struct bpf_object* object,
                                                                      const UserProbeOptions& options);

// Attaches; throws ecli::Error naming the program and what is missing (a
// function not in the binary, a USDT probe it does not carry).
struct bpf_link* attach_user_probe(struct bpf_program* prog, const UserProbeTarget& target);

// "uretprobe /bin/bash:readline (pid 42)" for the report.
std::string describe(const UserProbeTarget& target);

// A binary named on the command line or in a section, as a path to an ELF
// file: a path as it is, a library name through ld.so.cache and the standard
// folders (and the process's own mappings when `pid` is set), a program name
// on PATH. `what` starts the error ("--binary libfoo").
std::string resolve_binary(const std::string& text, int pid, const std::string& what);

// --pid: throws ecli::Error unless a process with that id is running.
void check_pid_running(int pid);

// The globals through which a program limits its events to one process. The
// rule: a settable integer whose name, split into words at underscores and
// case changes, is one process word (`pid`, `tgid`) and one targeting word
// (`targ`, `target`, `filter`, `filtered`) in either order — targ_pid,
// pid_target, filter_pid, targ_tgid... — or a `pid_t` named by a targeting
// word alone (`target`). When both a tgid and a pid filter exist, the tgid one
// is the process (libbpf-tools' convention: the pid one is a thread) and only
// it is returned.
std::vector<btf::GlobalVariable> process_filters(
    const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals);

// --pid for the whole run: checks the process, and sets each process filter
// global to it unless the program's options set that global explicitly.
// Says on stderr what it set, or that only the user probes are limited.
void apply_pid_option(int pid, struct bpf_object* object,
                      const std::vector<std::pair<btf::GlobalVariable, btf::ValueType>>& globals,
                      std::vector<GlobalSetting>& settings);

}  // namespace ecli::runtime
