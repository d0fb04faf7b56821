#pragma once
// The typed event streams of a loaded object: every ring buffer and perf event
// array, decoded with the render plan of the struct it carries and printed as
// a table, JSON lines or CSV. Which struct: eunomia's export_config when the
// package enables multiple export types (a BTF type id, custom members, or
// "NoExport", which leaves the map unread), else our event_type, else the
// first of export_types.
//
// While events flow, reading is driven by a timer rather than a wake-up per
// event (DESIGN.md §7: a wake-up per event is what slows traced programs most):
// buffers are drained every 1 ms while busy, backing off to 16 ms. Once a drain
// finds the ring buffers empty, a one-shot wake-up is armed on them, so the first
// event after a quiet spell is read at once (the 16 ms timer stays as a backstop).
// Perf buffers wake us every kPerfWakeupEvents events and are drained on the timer.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "output/event_format.hpp"
#include "output/metrics.hpp"
#include "output/stack_records.hpp"
#include "output/value_format.hpp"
#include "package/package.hpp"

struct perf_buffer;

namespace ecli::runtime {

class BpfObject;
class RingReader;

struct StreamOptions {
  output::Format format = output::Format::Table;
  std::vector<std::string> fields;  // --fields, empty for all
  std::vector<std::string> formats;  // --format FIELD=KIND (output/value_format.hpp)
  bool folded = false;               // --folded / --flamegraph: events with stacks are added up, not printed
  std::string flamegraph;            // --flamegraph FILE.svg
  bool lines = false;                // --lines: source file:line and inlined frames in stacks
};

class StackResolver;

class EventStreams {
 public:
  // `formats` (--format, @format) choose how fields read; misfits are added to it.
  // `stacks` resolves the stack fields of events (null: printed as numbers);
  // with `folded`, events that carry stacks are added there instead of printed.
  EventStreams(BpfObject& object, const package::Meta& meta, const StreamOptions& options,
               output::FieldFormats& formats, StackResolver* stacks = nullptr, output::FoldedStacks* folded = nullptr);
  // The table header (CSV: the header row); once the programs are attached for good.
  void print_header();
  ~EventStreams();
  EventStreams(const EventStreams&) = delete;
  EventStreams& operator=(const EventStreams&) = delete;

  bool empty() const { return streams_.empty(); }
  // File descriptors that say "data is waiting" (perf buffers after N events).
  std::vector<int> wakeup_fds() const;
  // Ready when an armed ring buffer received its first event (-1 without ring buffers).
  int ring_wakeup_fd() const { return ring_epoll_; }
  // Takes that wake-up (disarming it) and drains.
  bool on_ring_wakeup();
  // Reads everything waiting and formats it; false when stdout is gone.
  bool drain();
  // Milliseconds until the next drain is due.
  int next_timeout_ms() const;
  // Writes buffered rows out: at once on a terminal, else in batches no older than 30 ms.
  bool flush(bool force);
  // --containers / --container (issue 11): see output::EventWriter::set_containers.
  void set_containers(output::ContainerSource* source, bool columns, const std::string& only_id);
  // The printed streams whose events say no pid or cgroup id (no container columns, not filtered).
  std::vector<std::string> streams_without_containers() const;
  bool any_stream_with_containers() const;
  // The stderr summary of lost events, at exit.
  void report_totals() const;
  // Events seen and lost so far, per stream (--metrics).
  std::vector<output::StreamCounts> counts() const;

  // Called from libbpf's callbacks, whose context is a StreamRef.
  struct StreamRef {
    EventStreams* self;
    size_t stream;
  };
  void on_event(size_t stream, const void* data, size_t size);
  void on_lost(size_t stream, uint64_t count);

 private:
  struct Stream {
    std::string map_name;
    bool decodable = false;
    bool warned_short = false;
    bool warned_failed = false;
    uint64_t events = 0;
    uint64_t lost = 0;
    uint64_t lost_reported = 0;
  };
  std::vector<Stream> streams_;
  std::vector<std::unique_ptr<StreamRef>> refs_;  // stable addresses for libbpf
  std::unique_ptr<output::EventWriter> writer_;
  StackResolver* stacks_ = nullptr;
  output::FoldedStacks* folded_ = nullptr;
  std::vector<std::unique_ptr<output::StackFolder>> folders_;  // per stream; null for streams printed as rows
  std::vector<std::unique_ptr<RingReader>> rings_;
  std::vector<int> ring_fds_;
  int ring_epoll_ = -1;
  bool ring_armed_ = false;
  std::vector<struct perf_buffer*> perf_;
  output::Buffer out_;
  bool output_failed_ = false;  // a write of out_ failed during a drain
  std::string time_;  // "HH:MM:SS" of the current drain
  time_t time_second_ = -1;
  bool to_terminal_ = false;
  int interval_ms_ = 1;
  std::chrono::steady_clock::time_point next_drain_, oldest_unflushed_;
  std::chrono::steady_clock::time_point last_lost_report_;
  size_t drained_ = 0;

  void arm_ring_wakeup();
};

}  // namespace ecli::runtime
