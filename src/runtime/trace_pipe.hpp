#pragma once
// The bpf_printk stream. We read it from a tracefs instance of our own with
// only the bpf_trace_printk event enabled: its buffer starts empty (nothing
// from before this run), and we do not steal lines from another reader of the
// global trace_pipe. Where instances cannot be made, the global trace_pipe is
// used after discarding what it already held.
#include <memory>
#include <string>

namespace ecli::runtime {

class TracePipe {
 public:
  // Mounts tracefs when it is missing. Throws ecli::Error when no trace_pipe can be opened.
  static std::unique_ptr<TracePipe> open();
  ~TracePipe();

  int fd() const { return fd_; }
  // Reads what is ready and appends complete lines to `out`. Returns false when
  // the pipe is gone.
  bool read_lines(std::string& out);

 private:
  TracePipe() = default;
  int fd_ = -1;
  std::string instance_dir_;  // empty when reading the global buffer
  std::string partial_;       // an incomplete last line, kept for the next read
};

// The mount point of tracefs, mounting it at /sys/kernel/tracing if needed.
std::string tracefs_root();

}  // namespace ecli::runtime
