#include "distribution/url_download.hpp"

#include <iostream>

#include "util/error.hpp"

namespace ecli::distribution {
namespace {

void check_scheme(const std::string& url, bool insecure) {
  if (url.starts_with("https://") || is_loopback_host(url)) return;
  if (!insecure)
    throw Error(url + ": plain http is taken only from loopback hosts; use https, or --insecure to accept it");
  std::cerr << "ecli: warning: downloading " << url << " over plain http (--insecure)\n";
}

// Downloads URL into the cache and records it; nullopt on 404 when ABSENT_OK.
std::optional<std::string> download(const std::string& url, size_t limit, const std::string& what, BlobCache& cache,
                                    bool absent_ok) {
  BlobCache::Writer writer(cache, "", std::nullopt, url);
  HttpResponse response =
      http_request({.url = url, .max_body = limit, .what = what}, [&](std::string_view data) { writer.write(data); });
  if ((response.status == 404 || response.status == 410) && absent_ok) return std::nullopt;
  if (response.status < 200 || response.status >= 300) throw Error(response.status_line("GET"));
  std::string digest = writer.commit().filename().string();
  digest.insert(0, "sha256:");
  cache.set_ref("url:" + url, digest);
  return digest;
}

}  // namespace

RemotePackage fetch_url(const std::string& url, const RemoteOptions& options, BlobCache& cache) {
  check_scheme(url, options.registry.insecure);
  RemotePackage out;
  out.name = url;
  out.signature_name = url + ".minisig";
  std::string signature_url = url + ".minisig";

  std::optional<std::string> digest = cache.ref("url:" + url);
  if (options.pull == PullPolicy::Always || !digest || !cache.has(*digest)) {
    if (options.pull == PullPolicy::Never)
      throw Error(url + " is not in the cache (--pull never): fetch it once with --pull missing");
    if (options.verbose) std::cerr << "ecli: downloading " << url << "\n";
    digest = download(url, kPackageLimit, "package", cache, false);
  }
  out.digest = *digest;
  out.data = cache.read(*digest);
  if (!options.want_signature) return out;

  std::optional<std::string> signature = cache.ref("url:" + signature_url);
  if (options.pull == PullPolicy::Always || !signature || !cache.has(*signature)) {
    if (options.pull == PullPolicy::Never) {
      out.missing_signature = "the cache holds no " + signature_url + " (and --pull never)";
      return out;
    }
    signature = download(signature_url, kSignatureLimit, "signature", cache, true);
  }
  if (signature) out.signature = cache.read(*signature);
  else out.missing_signature = signature_url + " answered 404 Not Found";
  return out;
}

}  // namespace ecli::distribution
