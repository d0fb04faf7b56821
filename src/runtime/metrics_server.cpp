#include "runtime/metrics_server.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include <httplib.h>
#include <fmt/format.h>

#include "output/metrics.hpp"
#include "util/error.hpp"

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
  server_ = std::make_unique<httplib::Server>();
  server_->set_tcp_nodelay(true);
  // Prometheus asks for OpenMetrics first; curl and older scrapers get 0.0.4.
  server_->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    if (output::prefers_openmetrics(req.get_header_value("Accept")))
      res.set_content(output::to_openmetrics(answer()), std::string(output::kOpenMetricsContentType));
    else
      res.set_content(answer(), std::string(output::kTextContentType));
  });
  server_->Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body><a href=\"/metrics\">/metrics</a></body></html>\n", "text/html");
  });
  errno = 0;
  if (!server_->bind_to_port(host, port)) {
    int err = errno;
    std::string why = err ? std::strerror(err) : "cannot bind";
    if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
    throw Error(fmt::format("cannot serve metrics on {}: {}", address, why));
  }
  request_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (request_fd_ < 0) throw Error(fmt::format("cannot serve metrics: eventfd: {}", std::strerror(errno)));
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listener_done_ = true;
  });
}

MetricsServer::~MetricsServer() {
  {
    std::lock_guard lock(mutex_);
    generation_++;  // no scrape waits for a main loop that is gone
  }
  published_.notify_all();
  // httplib's stop() does nothing until listen_after_bind() has started
  // running: stopping before that (a run that fails at once) would leave the
  // listener, and this join, waiting forever.
  while (!server_->is_running() && !listener_done_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
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
