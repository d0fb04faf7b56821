#pragma once
// Reads one BPF ring buffer (BPF_MAP_TYPE_RINGBUF) through a sliding window.
//
// libbpf's ring_buffer maps a ring's data pages twice in a row (the kernel
// offers them so, so that a record crossing the end reads as one piece), and
// the kernel fills in every page at mmap time: a 16 MiB ring costs its reader
// 32 MB of resident memory from the first moment, though the kernel holds it
// only once. This reader maps at most kWindowBytes of that double mapping at a
// time, at the record being read, and moves the window (one mmap MAP_FIXED)
// when a record lies outside it. A record that crosses the ring's end is still
// one piece, because the window may lie across the two copies. The memory of a
// ring then stays the kernel's (shown by bpftool as the map's memlock), and
// ecli's own resident memory no longer grows with the ring's size.
//
// The protocol is the kernel's (kernel/bpf/ringbuf.c) and libbpf's
// (ringbuf.c): positions only grow, a record's 8-byte header holds its length
// with a busy and a discard bit, records are 8-byte aligned, and the consumer
// position is published with release order so the producer may reuse space.
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace ecli::runtime {

class RingReader {
 public:
  using Callback = void (*)(void* ctx, const void* data, size_t size);
  static constexpr size_t kWindowBytes = 1 << 20;

  // Maps ring buffer map MAP_FD (not owned). Throws ecli::Error naming MAP_NAME.
  RingReader(int map_fd, const char* map_name, Callback callback, void* ctx);
  ~RingReader();
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Hands every committed record to the callback (discarded ones are skipped)
  // and frees their space (in a flood, all but the last one's until the next
  // call); stops at a record still being written. Returns the number of
  // records handed over.
  size_t consume();
  int fd() const { return fd_; }
  // The ring's data size (max_entries) and the bytes of it mapped now.
  size_t data_bytes() const { return data_size_; }
  size_t mapped_window_bytes() const { return window_size_; }

 private:
  // Makes [offset, offset + length) of the double mapping readable; returns its address.
  const uint8_t* view(size_t offset, size_t length);

  int fd_;
  Callback callback_;
  void* ctx_;
  size_t page_size_;
  size_t data_size_ = 0;  // a power of two; positions are taken modulo it
  uint64_t* consumer_pos_ = nullptr;        // its own page, writable
  const uint64_t* producer_pos_ = nullptr;  // its own page, read-only
  uint8_t* window_ = nullptr;
  size_t window_offset_ = 0;  // into the double mapping of the data pages
  size_t window_size_ = 0;
  size_t window_limit_ = 0;  // kWindowBytes, or the whole double mapping when smaller
  uint64_t position_ = 0;    // of the next record to read; the published one may lag a record behind
  static constexpr size_t kFloodRecords = 2;
};

}  // namespace ecli::runtime
