#include "distribution/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>

#include "util/error.hpp"

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

const char* default_reason(long status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 307: return "Temporary Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    default: return "";
  }
}

struct Transfer {
  const HttpRequest* request;
  const BodySink* sink;
  HttpResponse* response;
  size_t received = 0;
  long status = 0;  // of the response being received
  bool over_limit = false;
  std::exception_ptr sink_error;
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
      t->sink_error = std::current_exception();
      return 0;
    }
  } else {
    t->response->body.append(data, n);
  }
  return n;
}

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using HeaderList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

}  // namespace

std::string size_text(size_t bytes) {
  if (bytes >= (1u << 20) && bytes % (1u << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::string HttpResponse::status_line(const std::string& method) const {
  std::string r = reason.empty() ? default_reason(status) : reason;
  return method + " " + url + " answered " + std::to_string(status) + (r.empty() ? "" : " " + r);
}

std::string url_authority(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string authority = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  size_t at = authority.rfind('@');  // user:pass@ never appears in messages
  return at == std::string::npos ? authority : authority.substr(at + 1);
}

bool is_loopback_host(const std::string& authority_or_url) {
  std::string authority = url_authority(authority_or_url);
  std::string host = authority;
  if (host.starts_with("[")) {
    host = host.substr(1, host.find(']') - 1);
  } else if (size_t colon = host.rfind(':'); colon != std::string::npos) {
    host = host.substr(0, colon);
  }
  host = lower(host);
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') ++dots;
    else if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return dots == 3;
}

HttpResponse http_request(const HttpRequest& request, const BodySink& sink) {
  init_curl_once();
  CurlHandle curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error("cannot start an HTTP client (libcurl)");
  HttpResponse response;
  response.url = request.url;
  Transfer transfer{&request, &sink, &response};
  char error_text[CURL_ERROR_SIZE] = {};

  bool https = request.url.starts_with("https://");
  if (!https && !request.url.starts_with("http://")) throw Error(request.url + " is not an http:// or https:// URL");
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
    if (!next) throw Error("out of memory building an HTTP request");
    headers.release();
    headers.reset(next);
  };
  for (const auto& line : request.headers) add_header(line);
  add_header("Expect:");  // no 100-continue round trip for uploads
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

  CURLcode rc = curl_easy_perform(h);
  char* effective = nullptr;
  if (curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) response.url = effective;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  if (transfer.sink_error) std::rethrow_exception(transfer.sink_error);
  std::string authority = url_authority(request.url);
  if (transfer.over_limit)
    throw Error("the " + request.what + " at " + response.url + " is larger than the limit of " +
                size_text(request.max_body));
  if (rc == CURLE_OK) return response;

  std::string detail = error_text[0] ? error_text : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_CONNECT: {
      long os_errno = 0;
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      throw Error("cannot reach " + authority + ": " + (os_errno ? errno_text(static_cast<int>(os_errno)) : detail));
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      throw Error("cannot reach " + authority + ": no such host");
    case CURLE_OPERATION_TIMEDOUT:
      throw Error("cannot reach " + authority + ": it stopped answering (" + detail + ")");
    case CURLE_PARTIAL_FILE:
      throw Error("download of " + response.url + " is truncated: " + detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
      throw Error("TLS connection to " + authority + " failed: " + detail);
    case CURLE_TOO_MANY_REDIRECTS:
      throw Error(request.method + " " + request.url + ": too many redirects");
    case CURLE_UNSUPPORTED_PROTOCOL:
      throw Error(request.method + " " + request.url + ": refused a redirect to " + response.url +
                  " (only https, or http from plain http)");
    default:
      throw Error(request.method + " " + request.url + " failed: " + detail);
  }
}

}  // namespace ecli::distribution
