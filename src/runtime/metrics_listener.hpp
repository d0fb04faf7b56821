#pragma once
// The boundary between MetricsServer (in ecli) and libecli_metrics_http.so,
// the module that holds cpp-httplib (and the OpenSSL and brotli libraries
// Debian's build of it links), so that only runs with --metrics load them.
// The listener serves GET /metrics from a handler and a link page on GET /;
// MetricsServer owns the thread it listens on and what it answers.
#include <functional>
#include <memory>
#include <string>

namespace ecli::runtime {

struct MetricsAnswer {
  std::string body;
  std::string content_type;
};

// Called on the listener's thread for each GET /metrics with its Accept header.
using MetricsHandler = std::function<MetricsAnswer(const std::string& accept)>;

class MetricsListener {
 public:
  virtual ~MetricsListener() = default;
  // False with the errno value in `error_number` (0 when unknown) when HOST:PORT cannot be bound.
  virtual bool bind(const std::string& host, int port, int& error_number) = 0;
  // Serves until stop(); blocks the calling thread.
  virtual void listen() = 0;
  // True once listen() is serving; stop() has no effect before.
  virtual bool is_running() const = 0;
  virtual void stop() = 0;
};

// The entry point of libecli_metrics_http.so: a new listener that answers
// with HANDLER, or null when it cannot make one. Never throws.
using MetricsListenerFn = MetricsListener* (*)(const MetricsHandler& handler);
inline constexpr const char* kMetricsListenerEntry = "ecli_metrics_listener_v1";
inline constexpr const char* kMetricsModule = "libecli_metrics_http.so";

}  // namespace ecli::runtime
