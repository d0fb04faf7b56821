#include "runtime/ring_reader.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "util/error.hpp"

namespace ecli::runtime {
namespace {

// A record's header (struct bpf_ringbuf_hdr in the kernel).
constexpr uint32_t kBusyBit = 1u << 31;     // being written
constexpr uint32_t kDiscardBit = 1u << 30;  // bpf_ringbuf_discard(): skipped
constexpr size_t kHeaderBytes = 8;

size_t round_up(size_t value, size_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

RingReader::RingReader(int map_fd, const char* map_name, Callback callback, void* ctx)
    : fd_(map_fd), callback_(callback), ctx_(ctx), page_size_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {
  bpf_map_info info{};
  uint32_t info_size = sizeof(info);
  if (bpf_map_get_info_by_fd(map_fd, &info, &info_size) != 0)
    throw Error(fmt::format("cannot read ring buffer '{}': {}", map_name, errno_text(errno)));
  data_size_ = info.max_entries;
  if (info.type != BPF_MAP_TYPE_RINGBUF || data_size_ == 0 || (data_size_ & (data_size_ - 1)) != 0)
    throw Error(fmt::format("cannot read ring buffer '{}': not a ring buffer of a power-of-two size", map_name));

  void* consumer = mmap(nullptr, page_size_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (consumer == MAP_FAILED)
    throw Error(fmt::format("cannot map ring buffer '{}': {}", map_name, errno_text(errno)));
  consumer_pos_ = static_cast<uint64_t*>(consumer);
  void* producer = mmap(nullptr, page_size_, PROT_READ, MAP_SHARED, map_fd, static_cast<off_t>(page_size_));
  if (producer == MAP_FAILED) {
    int err = errno;
    munmap(consumer, page_size_);
    throw Error(fmt::format("cannot map ring buffer '{}': {}", map_name, errno_text(err)));
  }
  producer_pos_ = static_cast<const uint64_t*>(producer);
  position_ = __atomic_load_n(consumer_pos_, __ATOMIC_ACQUIRE);
  window_limit_ = std::min(kWindowBytes, 2 * data_size_);
}

RingReader::~RingReader() {
  if (window_) munmap(window_, window_size_);
  if (producer_pos_) munmap(const_cast<uint64_t*>(producer_pos_), page_size_);
  if (consumer_pos_) munmap(consumer_pos_, page_size_);
}

const uint8_t* RingReader::view(size_t offset, size_t length) {
  if (window_ && offset >= window_offset_ && offset + length <= window_offset_ + window_size_)
    return window_ + (offset - window_offset_);
  // A record longer than the window gets a window of its own size; records
  // are at most the ring's size, so offset + length stays within the double mapping.
  size_t size = std::max(window_limit_, round_up(length + (offset % page_size_), page_size_));
  size_t start = std::min(offset / page_size_ * page_size_, 2 * data_size_ - size);
  // The data pages start two pages into the map: after the consumer's and the producer's.
  off_t file_offset = static_cast<off_t>(2 * page_size_ + start);
  void* hint = window_ && size == window_size_ ? window_ : nullptr;
  void* mapped = mmap(hint, size, PROT_READ, MAP_SHARED | (hint ? MAP_FIXED : 0), fd_, file_offset);
  if (mapped == MAP_FAILED) throw Error("cannot map ring buffer data: " + errno_text(errno));
  if (window_ && mapped != window_) munmap(window_, window_size_);
  window_ = static_cast<uint8_t*>(mapped);
  window_offset_ = start;
  window_size_ = size;
  return window_ + (offset - start);
}

size_t RingReader::consume() {
  size_t records = 0;
  uint64_t& consumer = position_;
  uint64_t last_record = consumer;  // where the last record handed over starts
  // libbpf publishes the position after every record. The producer reads it
  // in every reserve and submit, so each store would move its cache line to
  // the other CPU and back once per event. It is published per batch instead
  // (also when a callback throws), and at least every kPublishBytes so that a
  // long batch still frees space as it goes.
  struct Publisher {
    uint64_t* position;
    uint64_t published;
    void publish(uint64_t at) {
      if (at <= published) return;  // positions only grow
      __atomic_store_n(position, at, __ATOMIC_RELEASE);
      published = at;
    }
  } publisher{consumer_pos_, __atomic_load_n(consumer_pos_, __ATOMIC_RELAXED)};
  constexpr uint64_t kPublishBytes = 256 << 10;
  const uint64_t mask = data_size_ - 1;
  try {
    for (;;) {
      uint64_t producer = __atomic_load_n(producer_pos_, __ATOMIC_ACQUIRE);
      if (consumer >= producer) break;
      bool stopped = false;
      while (consumer < producer) {
        size_t offset = static_cast<size_t>(consumer & mask);
        const auto* header = reinterpret_cast<const uint32_t*>(view(offset, kHeaderBytes));
        uint32_t length = __atomic_load_n(header, __ATOMIC_ACQUIRE);
        if (length & kBusyBit) {
          stopped = true;
          break;
        }
        uint32_t size = length & ~kDiscardBit;
        if (kHeaderBytes + size > data_size_) throw Error("ring buffer record larger than the ring: the map is corrupt");
        if (!(length & kDiscardBit)) {
          const uint8_t* record = view(offset, kHeaderBytes + size) + kHeaderBytes;
          callback_(ctx_, record, size);
          records++;
        }
        last_record = consumer;
        consumer += round_up(kHeaderBytes + size, 8);
        if (consumer - publisher.published >= kPublishBytes) publisher.publish(consumer);
      }
      if (stopped) break;
    }
  } catch (...) {
    publisher.publish(consumer);  // what was handed over stays handed over
    throw;
  }
  // The kernel wakes the reader (a self-IPI and a wake-up on the producer's
  // CPU) when a record is submitted exactly at the published position, that
  // is, when the reader had caught up. In a flood the reader drains on a 1 ms
  // timer and wants no wake-ups, so after a batch of several records the
  // published position stays at the start of the last one (already handed
  // over; only its space is held a little longer). A drain that finds one
  // record or none catches up, so the first event after a quiet spell wakes
  // the reader at once.
  publisher.publish(records >= kFloodRecords ? last_record : consumer);
  return records;
}

}  // namespace ecli::runtime
