#pragma once
// `ecli run https://host/path/package.json`: the package (and URL.minisig when
// a signature is wanted) downloaded into the blob cache and recorded under the
// URL, so that --pull missing|never find it again offline. Plain http:// is
// taken for loopback hosts; for any other host only with --insecure.
#include <string>

#include "distribution/blob_cache.hpp"
#include "distribution/remote_package.hpp"

namespace ecli::distribution {

RemotePackage fetch_url(const std::string& url, const RemoteOptions& options, BlobCache& cache);

}  // namespace ecli::distribution
