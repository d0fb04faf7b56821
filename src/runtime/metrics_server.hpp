#pragma once
// `--metrics [ADDR:]PORT`: /metrics over HTTP on a thread of its own. The
// listener (cpp-httplib) is in libecli_metrics_http.so, loaded here.
//
// The maps are read by the main thread only (the Sampler and EventStreams are
// not thread-safe, and reading a map between a print and its clearing would
// race). So a scrape does not read them itself: the server thread bumps an
// eventfd that the RunLoop watches and waits (at most a second) for the main
// thread to publish fresh text; the main thread reads the maps, formats them
// and publishes. The text is behind a mutex, and a scrape that arrives while
// the main thread is busy loading or has stopped gets the last text published.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "runtime/metrics_listener.hpp"

namespace ecli::runtime {

class MetricsServer {
 public:
  // Binds at once (before anything is loaded): "PORT", ":PORT" (all
  // addresses), "ADDR:PORT", "[V6ADDR]:PORT". Throws ecli::Error
  // ("cannot serve metrics on :9464: address already in use", or the
  // module's "cannot load libecli_metrics_http.so ...").
  explicit MetricsServer(const std::string& address);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Readable when a scrape waits for fresh text; the main loop then calls publish().
  int request_fd() const { return request_fd_; }
  // Main thread: clears the request and answers the waiting scrapes with `text`.
  void publish(std::string text);

 private:
  std::string answer();

  std::unique_ptr<MetricsListener> listener_;
  std::thread thread_;
  std::atomic<bool> listener_done_{false};
  int request_fd_ = -1;
  std::mutex mutex_;
  std::condition_variable published_;
  std::string text_;
  uint64_t generation_ = 0;
};

// "9464" -> {"0.0.0.0", 9464}; throws ecli::Error for what is no address.
std::pair<std::string, int> parse_metrics_address(const std::string& address);

}  // namespace ecli::runtime
