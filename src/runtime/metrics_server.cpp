#include "runtime/metrics_server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "output/metrics.hpp"
#include "util/error.hpp"
#include "util/module_loader.hpp"

namespace ecli::runtime {

std::pair<std::string, int> parse_metrics_address(const std::string& address) {
  std::string host = "0.0.0.0", port = address;
  if (auto colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
  }
  int number = 0;
  bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
  if (digits) number = std::stoi(port);
  if (!digits || number < 1 || number > 65535)
    throw Error(fmt::format("--metrics {}: expected [ADDR:]PORT with a port from 1 to 65535", address));
  return {host, number};
}

MetricsServer::MetricsServer(const std::string& address) {
  auto [host, port] = parse_metrics_address(address);
  // cpp-httplib (and the OpenSSL it is built with) is loaded only for --metrics.
  static const MetricsListenerFn make_listener =
      load_module_function<MetricsListenerFn>(kMetricsModule, kMetricsListenerEntry, "--metrics");
  // Prometheus asks for OpenMetrics first; curl and older scrapers get 0.0.4.
  listener_.reset(make_listener([this](const std::string& accept) {
    if (output::prefers_openmetrics(accept))
      return MetricsAnswer{output::to_openmetrics(answer()), std::string(output::kOpenMetricsContentType)};
    return MetricsAnswer{answer(), std::string(output::kTextContentType)};
  }));
  if (!listener_) throw Error(fmt::format("cannot serve metrics on {}: out of memory", address));
  int err = 0;
  if (!listener_->bind(host, port, err)) {
    std::string why = err ? std::strerror(err) : "cannot bind";
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    throw Error(fmt::format("cannot serve metrics on {}: {}", address, why));
  }
  request_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (request_fd_ < 0) throw Error(fmt::format("cannot serve metrics: eventfd: {}", std::strerror(errno)));
  thread_ = std::thread([this] {
    listener_->listen();
    listener_done_ = true;
  });
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard lock(mutex_);
    generation_++;  // no scrape waits for a main loop that is gone
  }
  published_.notify_all();
  // The listener's stop() does nothing until listen() has started running:
  // stopping before that (a run that fails at once) would leave the
  // listener, and this join, waiting forever.
  while (!listener_->is_running() && !listener_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  listener_->stop();
  if (thread_.joinable()) thread_.join();
  if (request_fd_ >= 0) close(request_fd_);
}

std::string MetricsServer::answer() {
  std::unique_lock lock(mutex_);
  uint64_t seen = generation_;
  uint64_t one = 1;
  if (write(request_fd_, &one, sizeof one) < 0) {
    // EAGAIN: the counter is full of requests already; the main loop will answer.
  }
  published_.wait_for(lock, std::chrono::seconds(1), [&] { return generation_ != seen; });
  return text_;
}

void MetricsServer::publish(std::string text) {
  uint64_t requests;
  if (read(request_fd_, &requests, sizeof requests) < 0) {
    // EAGAIN: published without a request (a refresh of our own).
  }
  {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
    generation_++;
  }
  published_.notify_all();
}

}  // namespace ecli::runtime
