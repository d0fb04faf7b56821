#include "distribution/http_client.hpp"

#include <cctype>
#include <exception>

#include "distribution/http_transfer.hpp"
#include "util/error.hpp"
#include "util/module_loader.hpp"

namespace ecli::distribution {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
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
  if (!request.url.starts_with("https://") && !request.url.starts_with("http://"))
    throw Error(request.url + " is not an http:// or https:// URL");
  // libcurl and its TLS stack are loaded only by the runs that download.
  static const HttpTransferFn transfer =
      load_module_function<HttpTransferFn>(kHttpModule, kHttpTransferEntry, "URL and registry targets");
  HttpResponse response;
  TransferOutcome outcome;
  transfer(request, sink, response, outcome);

  std::string authority = url_authority(request.url);
  const std::string& detail = outcome.detail;
  switch (outcome.failure) {
    case TransferFailure::none:
      return response;
    case TransferFailure::sink_failed:
      std::rethrow_exception(outcome.sink_error);
    case TransferFailure::over_limit:
      throw Error("the " + request.what + " at " + response.url + " is larger than the limit of " +
                  size_text(request.max_body));
    case TransferFailure::cannot_start:
      throw Error("cannot start an HTTP client (libcurl)");
    case TransferFailure::out_of_memory:
      throw Error("out of memory building an HTTP request");
    case TransferFailure::cannot_connect:
      throw Error("cannot reach " + authority + ": " + (outcome.os_errno ? errno_text(outcome.os_errno) : detail));
    case TransferFailure::no_such_host:
      throw Error("cannot reach " + authority + ": no such host");
    case TransferFailure::timed_out:
      throw Error("cannot reach " + authority + ": it stopped answering (" + detail + ")");
    case TransferFailure::truncated:
      throw Error("download of " + response.url + " is truncated: " + detail);
    case TransferFailure::tls:
      throw Error("TLS connection to " + authority + " failed: " + detail);
    case TransferFailure::too_many_redirects:
      throw Error(request.method + " " + request.url + ": too many redirects");
    case TransferFailure::redirect_refused:
      throw Error(request.method + " " + request.url + ": refused a redirect to " + response.url +
                  " (only https, or http from plain http)");
    case TransferFailure::other:
      break;
  }
  throw Error(request.method + " " + request.url + " failed: " + detail);
}

}  // namespace ecli::distribution
