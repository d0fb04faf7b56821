#include "runtime/event_streams.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <ctime>
#include <iostream>

#include <fmt/format.h>

#include "btf/render_plan.hpp"
#include "output/value_format.hpp"
#include "runtime/loader.hpp"
#include "runtime/stack_resolver.hpp"
#include "runtime/messages.hpp"
#include "runtime/ring_reader.hpp"
#include "runtime/run_loop.hpp"
#include "util/error.hpp"

namespace ecli::runtime {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kPerfPagesPerCpu = 256;     // 1 MiB per CPU: ~16 ms of a 1M events/s storm
constexpr uint32_t kPerfWakeupEvents = 512;  // one wake-up per this many events per CPU
constexpr int kMaxIntervalMs = 16;
// A row waits at most kMaxIntervalMs to be read and kBatchAge to be written:
// under the 50 ms a person notices.
constexpr auto kBatchAge = std::chrono::milliseconds(30);
constexpr size_t kBatchBytes = 1 << 20;
constexpr size_t kFewEvents = 64;

void on_ring_record(void* ctx, const void* data, size_t size) {
  auto* ref = static_cast<EventStreams::StreamRef*>(ctx);
  ref->self->on_event(ref->stream, data, size);
}

struct PerfSample {
  perf_event_header header;
  uint32_t size;
  char data[];
};
struct PerfLost {
  perf_event_header header;
  uint64_t id;
  uint64_t lost;
};

enum bpf_perf_event_ret on_perf_record(void* ctx, int, struct perf_event_header* event) {
  auto* ref = static_cast<EventStreams::StreamRef*>(ctx);
  if (event->type == PERF_RECORD_SAMPLE) {
    auto* sample = reinterpret_cast<PerfSample*>(event);
    ref->self->on_event(ref->stream, sample->data, sample->size);
  } else if (event->type == PERF_RECORD_LOST) {
    ref->self->on_lost(ref->stream, reinterpret_cast<PerfLost*>(event)->lost);
  }
  return LIBBPF_PERF_EVENT_CONT;
}

// How the events of a map are printed, decided once per map.
struct EventPlan {
  enum class Choice { Print, NotExported, Undecodable } choice = Choice::Undecodable;
  btf::RenderPlan plan;
  std::string why;  // Undecodable: the warning
};

// The struct a map carries by name: our "event_type" key (ecc), else eunomia's
// export_types (the first one, as the reference does).
std::string event_type_name(const package::Map* map, const package::Meta& meta) {
  if (map && map->extra.is_object())
    if (auto it = map->extra.find("event_type"); it != map->extra.end() && it->is_string())
      return it->get<std::string>();
  if (!meta.export_types.empty()) return "struct " + meta.export_types.front().name;
  return {};
}

// The reference's choice (eunomia-bpf with meta.enable_multiple_export_types,
// see package::ExportConfig): each map's export_config names a BTF type id of
// the object, or a list of members at offsets with their BTF types, or says
// "NoExport". Without the switch, or for a map with no export_config, the
// type is chosen by name as before: our event_type, else export_types[0].
EventPlan choose_event_plan(const struct btf* btf, const package::Meta& meta, const std::string& map_name) {
  const package::Map* map = nullptr;
  for (const auto& m : meta.maps)
    if (m.name == map_name) map = &m;
  EventPlan out;
  using Kind = package::ExportConfig::Kind;
  const package::ExportConfig* config =
      meta.enable_multiple_export_types && map && map->export_config.kind != Kind::Default ? &map->export_config
                                                                                            : nullptr;
  if (config && config->kind == Kind::NoExport) {
    out.choice = EventPlan::Choice::NotExported;
    return out;
  }
  if (config && !btf) {
    out.why = fmt::format("map '{}' names its event type by BTF type id, but the object has no BTF: its events "
                          "are not printed", map_name);
    return out;
  }
  try {
    if (config && config->kind == Kind::BtfTypeId) {
      out.plan = btf::build_render_plan(btf, config->btf_type_id);
    } else if (config && config->kind == Kind::CustomMembers) {
      std::vector<btf::MemberSpec> members;
      for (const auto& m : config->members) members.push_back({m.name, m.offset, m.btf_type_id});
      out.plan = btf::build_members_plan(btf, "the custom members of map '" + map_name + "'", members);
    } else {
      std::string type_name = event_type_name(map, meta);
      uint32_t id = btf && !type_name.empty() ? btf::find_type_by_name(btf, type_name) : 0;
      if (type_name.empty()) {
        out.why = fmt::format("no event type is known for map '{}': its events are not printed (ecc finds the "
                              "struct a program sends; for other packages name it in export_types)",
                              map_name);
        return out;
      }
      if (id == 0) {
        out.why = fmt::format("event type {} of map '{}' is not in the object's BTF: its events are not printed",
                              type_name, map_name);
        return out;
      }
      out.plan = btf::build_render_plan(btf, id);
    }
  } catch (const std::exception& e) {
    out.why = fmt::format("{} of map '{}': {}: its events are not printed",
                          config ? "export_config" : "the event type", map_name, e.what());
    return out;
  }
  out.choice = EventPlan::Choice::Print;
  return out;
}

void report_unknown_fields(const btf::RenderPlan& plan, const std::vector<btf::FieldPlan>& fields,
                           const std::string& path) {
  for (const auto& f : fields) {
    if (f.kind == btf::FieldKind::Unknown)
      warn(fmt::format("field {}{} of {} has a type ecli cannot decode ({}); it is shown as {}", path, f.name,
                       plan.type_name, f.c_type, f.size ? "hex bytes" : "?"));
    if (f.kind == btf::FieldKind::Struct) report_unknown_fields(plan, f.members, path + f.name + ".");
  }
}

}  // namespace

EventStreams::EventStreams(BpfObject& object, const package::Meta& meta, const StreamOptions& options,
                           output::FieldFormats& field_formats, StackResolver* stacks, output::FoldedStacks* folded)
    : stacks_(stacks), folded_(folded) {
  const struct btf* btf = bpf_object__btf(object.get());
  std::vector<output::StreamFormat> formats;
  std::vector<struct bpf_map*> maps;
  struct bpf_map* map;
  bpf_object__for_each_map(map, object.get()) {
    auto type = bpf_map__type(map);
    if (type != BPF_MAP_TYPE_RINGBUF && type != BPF_MAP_TYPE_PERF_EVENT_ARRAY) continue;
    EventPlan chosen = choose_event_plan(btf, meta, bpf_map__name(map));
    if (chosen.choice == EventPlan::Choice::NotExported) continue;  // "NoExport": not read, not printed
    Stream stream;
    stream.map_name = bpf_map__name(map);
    output::StreamFormat format;
    format.name = stream.map_name;
    if (chosen.choice == EventPlan::Choice::Undecodable) {
      warn(chosen.why);
    } else {
      format.plan = std::move(chosen.plan);
      output::apply_formats(format.plan, stream.map_name, field_formats);
      if (stacks_) {
        stacks_->mark(format.plan);
        output::bind_stack_fields(format.plan, {});
      }
      report_unknown_fields(format.plan, format.plan.fields, "");
      stream.decodable = true;
    }
    streams_.push_back(std::move(stream));
    formats.push_back(std::move(format));
    maps.push_back(map);
  }
  if (streams_.empty()) return;

  // Only decodable streams take part in --fields and the header.
  std::vector<output::StreamFormat> shown;
  for (size_t i = 0; i < formats.size(); i++)
    if (streams_[i].decodable) shown.push_back(formats[i]);
  output::choose_columns(shown, options.fields);
  for (size_t i = 0, k = 0; i < formats.size(); i++)
    if (streams_[i].decodable) formats[i] = shown[k++];
  writer_ = std::make_unique<output::EventWriter>(options.format, formats);
  writer_->set_stack_source(stacks_);
  for (const auto& f : writer_->streams())
    folders_.push_back(folded_ && stacks_ && output::has_stack_fields(f.plan)
                           ? std::make_unique<output::StackFolder>(f.plan, -1)
                           : nullptr);

  for (size_t i = 0; i < maps.size(); i++) {
    refs_.push_back(std::make_unique<StreamRef>(StreamRef{this, i}));
    StreamRef* ctx = refs_.back().get();
    int fd = bpf_map__fd(maps[i]);
    if (bpf_map__type(maps[i]) == BPF_MAP_TYPE_RINGBUF) {
      rings_.push_back(std::make_unique<RingReader>(fd, streams_[i].map_name.c_str(), on_ring_record, ctx));
      ring_fds_.push_back(fd);
    } else {
      perf_event_attr attr{};
      attr.type = PERF_TYPE_SOFTWARE;
      attr.config = PERF_COUNT_SW_BPF_OUTPUT;
      attr.sample_type = PERF_SAMPLE_RAW;
      attr.sample_period = 1;
      attr.wakeup_events = kPerfWakeupEvents;
      struct perf_buffer* pb = perf_buffer__new_raw(fd, kPerfPagesPerCpu, &attr, on_perf_record, ctx, nullptr);
      if (long err = libbpf_get_error(pb); err || !pb)
        throw Error(fmt::format("cannot read perf buffer '{}': {}", streams_[i].map_name,
                                errno_text(err ? static_cast<int>(err) : errno)));
      perf_.push_back(pb);
    }
  }
  if (!ring_fds_.empty()) {
    ring_epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (ring_epoll_ < 0) throw Error("epoll_create1: " + errno_text(errno));
    for (int fd : ring_fds_) {
      epoll_event ev{};
      ev.data.fd = fd;
      if (epoll_ctl(ring_epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) throw Error("epoll_ctl: " + errno_text(errno));
    }
  }
  to_terminal_ = isatty(STDOUT_FILENO);
  next_drain_ = Clock::now();
}

void EventStreams::print_header() {
  if (!writer_) return;
  writer_->header(out_);
  flush(true);
}

EventStreams::~EventStreams() {
  if (ring_epoll_ >= 0) close(ring_epoll_);
  for (auto* pb : perf_) perf_buffer__free(pb);
}

std::vector<int> EventStreams::wakeup_fds() const {
  std::vector<int> fds;
  for (auto* pb : perf_) fds.push_back(perf_buffer__epoll_fd(pb));
  return fds;
}

void EventStreams::on_event(size_t stream, const void* data, size_t size) {
  Stream& s = streams_[stream];
  drained_++;
  s.events++;
  if (!s.decodable) return;
  const auto& plan = writer_->streams()[stream].plan;
  if (size < plan.size && !s.warned_short) {
    s.warned_short = true;
    warn(fmt::format("an event from map '{}' is {} bytes, shorter than {} ({} bytes): the missing fields print as 0",
                     s.map_name, size, plan.type_name, plan.size));
  }
  if (out_.size() == 0) oldest_unflushed_ = Clock::now();
  // Fields that cannot be decoded already print placeholders; this is the last
  // guard, since nothing may be thrown through libbpf's C callbacks: a row that
  // still fails is dropped, said once, and the run goes on.
  size_t before = out_.size();
  try {
    if (folders_[stream]) {
      if (!writer_->keeps(stream, static_cast<const uint8_t*>(data), size)) return;  // --container
      folders_[stream]->add(*folded_, *stacks_, static_cast<const uint8_t*>(data), size);
      return;
    }
    writer_->row(out_, time_, stream, static_cast<const uint8_t*>(data), size);
  } catch (const std::exception& e) {
    out_.resize(before);
    if (!s.warned_failed) {
      s.warned_failed = true;
      warn(fmt::format("an event from map '{}' could not be printed ({}); such events are skipped", s.map_name,
                       e.what()));
    }
  }
  // One drain may meet a ring full of events (16 MiB holds ~50,000 opens);
  // written out per batch, their text never needs more than a batch of memory.
  if (out_.size() >= kBatchBytes && !flush(true)) output_failed_ = true;
}

// Level-triggered and one-shot: an event that arrived before arming makes it
// ready at once, and after one report the kernel stays quiet until re-armed.
void EventStreams::arm_ring_wakeup() {
  for (int fd : ring_fds_) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.fd = fd;
    epoll_ctl(ring_epoll_, EPOLL_CTL_MOD, fd, &ev);
  }
  ring_armed_ = true;
}

bool EventStreams::on_ring_wakeup() {
  epoll_event ready[16];
  (void)epoll_wait(ring_epoll_, ready, 16, 0);
  ring_armed_ = false;
  return drain();
}

void EventStreams::on_lost(size_t stream, uint64_t count) { streams_[stream].lost += count; }

bool EventStreams::drain() {
  time_t now = time(nullptr);
  if (now != time_second_) {
    time_second_ = now;
    time_ = clock_text(now);
  }
  drained_ = 0;
  for (auto& ring : rings_) ring->consume();
  for (auto* pb : perf_) perf_buffer__consume(pb);

  // Busy: drain again soon. Idle: back off, but never past kMaxIntervalMs.
  interval_ms_ = drained_ ? 1 : std::min(interval_ms_ * 2, kMaxIntervalMs);
  next_drain_ = Clock::now() + std::chrono::milliseconds(interval_ms_);
  if (!drained_ && !ring_armed_ && ring_epoll_ >= 0) arm_ring_wakeup();

  auto wall = Clock::now();
  if (wall - last_lost_report_ > std::chrono::seconds(1)) {
    for (auto& s : streams_) {
      if (s.lost == s.lost_reported) continue;
      warn(fmt::format("lost {} events from map '{}' (the perf buffer was full)", s.lost - s.lost_reported,
                       s.map_name));
      s.lost_reported = s.lost;
      last_lost_report_ = wall;
    }
  }
  // A trickle is written at once; only a flood is worth batching.
  return flush(drained_ < kFewEvents) && !output_failed_;
}

int EventStreams::next_timeout_ms() const {
  auto due = next_drain_;
  if (out_.size() > 0) due = std::min(due, oldest_unflushed_ + kBatchAge);
  // Rounded up: a deadline 0.3 ms away is not due yet, and polling with 0 would spin.
  auto left = std::chrono::ceil<std::chrono::milliseconds>(due - Clock::now()).count();
  return static_cast<int>(std::max<int64_t>(left, 0));
}

bool EventStreams::flush(bool force) {
  if (out_.size() == 0) return true;
  if (!force && !to_terminal_ && out_.size() < kBatchBytes && Clock::now() - oldest_unflushed_ < kBatchAge)
    return true;
  bool ok = write_stdout(std::string_view(out_.data(), out_.size()));
  out_.clear();
  return ok;
}

void EventStreams::set_containers(output::ContainerSource* source, bool columns, const std::string& only_id) {
  if (writer_) writer_->set_containers(source, columns, only_id);
}

std::vector<std::string> EventStreams::streams_without_containers() const {
  std::vector<std::string> names;
  for (size_t i = 0; writer_ && i < streams_.size(); i++)
    if (streams_[i].decodable && !writer_->knows_containers(i)) names.push_back(streams_[i].map_name);
  return names;
}

bool EventStreams::any_stream_with_containers() const {
  for (size_t i = 0; writer_ && i < streams_.size(); i++)
    if (streams_[i].decodable && writer_->knows_containers(i)) return true;
  return false;
}

void EventStreams::report_totals() const {
  for (const auto& s : streams_)
    if (s.lost) warn(fmt::format("lost {} events in total from map '{}'", s.lost, s.map_name));
}

std::vector<output::StreamCounts> EventStreams::counts() const {
  std::vector<output::StreamCounts> out;
  for (const auto& s : streams_) out.push_back({s.map_name, s.events, s.lost});
  return out;
}

}  // namespace ecli::runtime
