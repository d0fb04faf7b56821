// libecli_metrics_http.so: the /metrics listener on cpp-httplib (see
// metrics_listener.hpp).
#include <cerrno>
#include <new>
#include <type_traits>

#include <httplib.h>

#include "runtime/metrics_listener.hpp"

namespace ecli::runtime {
namespace {

class HttplibListener final : public MetricsListener {
 public:
  explicit HttplibListener(MetricsHandler handler) : handler_(std::move(handler)) {
    server_.set_tcp_nodelay(true);
    server_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      MetricsAnswer answer = handler_(req.get_header_value("Accept"));
      res.set_content(answer.body, answer.content_type);
    });
    server_.Get("/", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<html><body><a href=\"/metrics\">/metrics</a></body></html>\n", "text/html");
    });
  }

  bool bind(const std::string& host, int port, int& error_number) override {
    errno = 0;
    bool bound = server_.bind_to_port(host, port);
    error_number = bound ? 0 : errno;
    return bound;
  }
  void listen() override { server_.listen_after_bind(); }
  bool is_running() const override { return server_.is_running(); }
  void stop() override { server_.stop(); }

 private:
  MetricsHandler handler_;
  httplib::Server server_;
};

}  // namespace
}  // namespace ecli::runtime

extern "C" __attribute__((visibility("default"))) ecli::runtime::MetricsListener* ecli_metrics_listener_v1(
    const ecli::runtime::MetricsHandler& handler) {
  try {
    return new ecli::runtime::HttplibListener(handler);
  } catch (...) {  // std::bad_alloc; the boundary promises no exception
    return nullptr;
  }
}
static_assert(std::is_same_v<decltype(&ecli_metrics_listener_v1), ecli::runtime::MetricsListenerFn>);
