#pragma once
// The boundary between http_client.cpp (in ecli) and libecli_http.so, the
// module that holds libcurl and its TLS stack (~9 MB resident, 30 libraries)
// so that only runs which download or upload load them. The module performs
// one transfer and reports facts; http_client.cpp words the errors. No
// exception crosses the boundary: a sink's is carried back in the outcome.
#include <exception>
#include <string>

#include "distribution/http_client.hpp"

namespace ecli::distribution {

enum class TransferFailure {
  none,
  cannot_start,      // curl_easy_init failed
  out_of_memory,     // building the header list
  cannot_connect,    // os_errno says why, when curl knows it
  no_such_host,
  timed_out,         // connecting, or the transfer stalled
  truncated,         // fewer bytes than Content-Length
  tls,               // verification or handshake
  too_many_redirects,
  redirect_refused,  // to another protocol (https -> http)
  over_limit,        // the body exceeds request.max_body
  sink_failed,       // sink_error holds the sink's exception
  other,
};

struct TransferOutcome {
  TransferFailure failure = TransferFailure::none;
  int os_errno = 0;
  std::string detail;  // curl's error text
  std::exception_ptr sink_error;
};

// The entry point of libecli_http.so. Fills RESPONSE (status, reason,
// headers, body, effective url) and OUTCOME; never throws. The version in the
// name keeps a module of another build from being called with other structs.
using HttpTransferFn = void (*)(const HttpRequest& request, const BodySink& sink, HttpResponse& response,
                                TransferOutcome& outcome);
inline constexpr const char* kHttpTransferEntry = "ecli_http_transfer_v1";
inline constexpr const char* kHttpModule = "libecli_http.so";

}  // namespace ecli::distribution
