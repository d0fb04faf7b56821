#pragma once
#include <sys/types.h>

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
// When that folder cannot be created or written (HOME=/nonexistent, as for
// system users), a private temporary folder removed at exit stands in for it
// (so nothing is cached across runs) and ECLI_CACHE_DIR is set to it, so that
// children such as ecc use it too. Throws only when no temporary folder can be made.
// Such folders left by runs killed with -9 (their pid is gone) are removed then.
std::filesystem::path cache_dir();
// The one-line note "ecli: cache ... not writable ..." once cache_dir() fell
// back to a temporary folder; empty otherwise. Printed with -v.
std::string cache_fallback_note();

// True when a temporary file of a writer with pid WRITER may be removed: that
// process is gone, or the file is older than a day (a reused pid).
bool temporary_is_stale(const std::filesystem::path& path, pid_t writer);
// Removes stale "<name>.tmp.<pid>" files and folders (left by runs killed
// with -9) directly inside DIR; errors are ignored (it only costs space).
void remove_stale_temporaries(const std::filesystem::path& dir);

}  // namespace ecli
