// libecli_http.so: one HTTP(S) transfer on libcurl (see http_transfer.hpp).
// TLS verification always on, redirects followed (never from https to
// http), stalls abandoned, and the body limit enforced while streaming.
#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>

#include "distribution/http_transfer.hpp"

namespace ecli::distribution {
namespace {

constexpr long kConnectTimeoutSeconds = 10;
// A transfer slower than 1 byte/s for this long is abandoned: a stalled
// server must not hang ecli.
constexpr long kStallSeconds = 30;

void init_curl_once() {
  static const bool done = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return true;
  }();
  (void)done;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

struct Transfer {
  const HttpRequest* request;
  const BodySink* sink;
  HttpResponse* response;
  TransferOutcome* outcome;
  size_t received = 0;
  long status = 0;  // of the response being received
  bool over_limit = false;
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {  // a new response (after a redirect or 100 Continue)
    t->response->headers.clear();
    size_t sp = line.find(' ');
    t->status = sp == std::string_view::npos ? 0 : std::atol(std::string(line.substr(sp + 1, 3)).c_str());
    size_t sp2 = sp == std::string_view::npos ? sp : line.find(' ', sp + 1);
    t->response->reason = sp2 == std::string_view::npos ? "" : trim(line.substr(sp2 + 1));
    return line.size();
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return line.size();
  std::string name = lower(std::string(line.substr(0, colon)));
  std::string value = trim(line.substr(colon + 1));
  // An announced size over the limit is refused before any of the body is read.
  if (name == "content-length" && t->status >= 200 && t->status < 300 && t->request->method != "HEAD" &&
      std::strtoull(value.c_str(), nullptr, 10) > t->request->max_body) {
    t->over_limit = true;
    return 0;
  }
  t->response->headers[name] = value;
  return line.size();
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  if (t->received + n > t->request->max_body) {
    t->over_limit = true;
    return 0;  // aborts the transfer
  }
  t->received += n;
  // Only a successful answer's body goes to the sink; error bodies are kept for messages.
  if (*t->sink && t->status >= 200 && t->status < 300) {
    try {
      (*t->sink)(std::string_view(data, n));
    } catch (...) {
      t->outcome->sink_error = std::current_exception();
      return 0;
    }
  } else {
    t->response->body.append(data, n);
  }
  return n;
}

TransferFailure failure_of(CURLcode rc) {
  switch (rc) {
    case CURLE_OK: return TransferFailure::none;
    case CURLE_COULDNT_CONNECT: return TransferFailure::cannot_connect;
    case CURLE_COULDNT_RESOLVE_HOST: return TransferFailure::no_such_host;
    case CURLE_OPERATION_TIMEDOUT: return TransferFailure::timed_out;
    case CURLE_PARTIAL_FILE: return TransferFailure::truncated;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: return TransferFailure::tls;
    case CURLE_TOO_MANY_REDIRECTS: return TransferFailure::too_many_redirects;
    case CURLE_UNSUPPORTED_PROTOCOL: return TransferFailure::redirect_refused;
    default: return TransferFailure::other;
  }
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

void transfer(const HttpRequest& request, const BodySink& sink, HttpResponse& response, TransferOutcome& outcome) {
  init_curl_once();
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) {
    outcome.failure = TransferFailure::cannot_start;
    return;
  }
  response.url = request.url;
  Transfer transfer{&request, &sink, &response, &outcome};
  char error_text[CURL_ERROR_SIZE] = {};

  bool https = request.url.starts_with("https://");
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  // A redirect never downgrades https to plain http.
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  // A private CA (an in-house registry) is trusted the way OpenSSL and Go are told: SSL_CERT_FILE.
  if (const char* ca_file = std::getenv("SSL_CERT_FILE"); ca_file && *ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, kConnectTimeoutSeconds);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kStallSeconds);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ecli/" ECLI_VERSION);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  if (request.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  }
  HeaderList headers(nullptr, &curl_slist_free_all);
  auto add_header = [&](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (!next) return false;
    headers.release();
    headers.reset(next);
    return true;
  };
  for (const auto& line : request.headers) {
    if (!add_header(line)) {
      outcome.failure = TransferFailure::out_of_memory;
      return;
    }
  }
  // No 100-continue round trip for uploads.
  if (!add_header("Expect:")) {
    outcome.failure = TransferFailure::out_of_memory;
    return;
  }
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(h);
  char* effective = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) response.url = effective;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (outcome.sink_error) {
    outcome.failure = TransferFailure::sink_failed;
    return;
  }
  if (transfer.over_limit) {
    outcome.failure = TransferFailure::over_limit;
    return;
  }
  outcome.failure = failure_of(rc);
  if (rc == CURLE_OK) return;
  outcome.detail = error_text[0] ? error_text : curl_easy_strerror(rc);
  if (rc == CURLE_COULDNT_CONNECT) {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    outcome.os_errno = static_cast<int>(os_errno);
  }
}

}  // namespace
}  // namespace ecli::distribution

extern "C" __attribute__((visibility("default"))) void ecli_http_transfer_v1(
    const ecli::distribution::HttpRequest& request, const ecli::distribution::BodySink& sink,
    ecli::distribution::HttpResponse& response, ecli::distribution::TransferOutcome& outcome) {
  try {
    ecli::distribution::transfer(request, sink, response, outcome);
  } catch (const std::exception& e) {  // std::bad_alloc; the boundary promises no exception
    outcome.failure = ecli::distribution::TransferFailure::other;
    outcome.detail = e.what();
  } catch (...) {
    outcome.failure = ecli::distribution::TransferFailure::other;
    outcome.detail = "unknown error";
  }
}
static_assert(std::is_same_v<decltype(&ecli_http_transfer_v1), ecli::distribution::HttpTransferFn>);
