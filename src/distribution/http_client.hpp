#pragma once
// A small HTTP(S) client on libcurl for registries and URL targets: one
// request at a time, TLS verification always on, redirects followed, and a
// size limit on every body so a hostile server cannot fill memory or disk.
// Every failure is an ecli::Error with one line naming the host or URL.
// The transfer itself is in libecli_http.so (curl_transfer.cpp), loaded on
// the first request; the helpers below need no module.
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ecli::distribution {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for PUT/POST/PATCH
  size_t max_body = 4 << 20;         // refuse a larger answer (while streaming)
  std::string what = "answer";       // names the body in the limit error ("manifest", "package")
};

struct HttpResponse {
  long status = 0;
  std::string reason;  // "Not Found"
  std::map<std::string, std::string> headers;  // names lower-cased; the last response's (after redirects)
  std::string body;    // empty when a sink took it
  std::string url;     // where it came from after redirects

  std::string header(const std::string& lower_name) const;
  // "GET https://host/path answered 404 Not Found"
  std::string status_line(const std::string& method) const;
};

// Receives the body of a 2xx answer in pieces as it arrives (streaming
// downloads to disk); other answers' bodies stay in HttpResponse::body.
using BodySink = std::function<void(std::string_view)>;

// Performs REQUEST. Throws Error when libecli_http.so cannot be loaded, the
// host cannot be reached, the transfer breaks or is truncated (fewer bytes
// than Content-Length), or the body exceeds max_body. HTTP error statuses are returned, not thrown.
HttpResponse http_request(const HttpRequest& request, const BodySink& sink = nullptr);

// A size as limits are stated: "4 MiB", "64 KiB", "100 bytes".
std::string size_text(size_t bytes);
// "host:port" of a URL, for messages.
std::string url_authority(const std::string& url);
// True for localhost, 127.0.0.0/8 and [::1] (a URL's or authority's host).
bool is_loopback_host(const std::string& authority);

}  // namespace ecli::distribution
