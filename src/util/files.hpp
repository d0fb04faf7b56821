#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ecli {

// Whole-file read; throws ecli::Error naming the file on failure.
std::string read_file(const std::filesystem::path& path);
// Writes through a temporary file and rename, so readers never see half a file.
void write_file_atomic(const std::filesystem::path& path, std::string_view data);
// $ECLI_CACHE_DIR, else $XDG_CACHE_HOME/ecli, else ~/.cache/ecli; created on demand.
std::filesystem::path cache_dir();

}  // namespace ecli
