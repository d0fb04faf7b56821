#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace ecli::package {

std::string base64_encode(std::string_view bytes);
// Strict: whitespace is skipped, any other non-alphabet byte is an error.
std::string base64_decode(std::string_view text);

std::string zlib_compress(std::string_view bytes);
// Inflates and checks that the result is exactly `expected_size` bytes.
std::string zlib_decompress(std::string_view bytes, size_t expected_size);

}  // namespace ecli::package
