#include "runtime/core_btf.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "btf/core_subset.hpp"
#include "btf/kernel_id.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

namespace ecli::runtime {
namespace {

constexpr const char* kKernelBtf = "/sys/kernel/btf/vmlinux";

}  // namespace

bool has_core_relocations(const std::string& elf) {
  // struct btf_ext_header: magic (u16), version, flags, hdr_len (u32), then
  // three (offset, length) pairs: func_info, line_info, core_relo.
  auto ext = btf::elf_section(elf, ".BTF.ext");
  if (!ext || ext->size() < 32) return false;
  uint16_t magic;
  uint32_t hdr_len, core_relo_len;
  std::memcpy(&magic, ext->data(), 2);
  std::memcpy(&hdr_len, ext->data() + 4, 4);
  std::memcpy(&core_relo_len, ext->data() + 28, 4);
  return magic == 0xeB9F && hdr_len >= 32 && core_relo_len > 0;
}

CoreBtfCache::CoreBtfCache(const std::string& elf) {
  std::string kernel = btf::running_kernel_id();
  if (kernel.empty() || !has_core_relocations(elf)) return;
  elf_ = elf;
  path_ = cache_dir() / "core-btf" / (Hasher().add(kernel).add(elf).hex() + ".btf");
  remove_stale_temporaries(path_.parent_path());  // "<key>.btf.tmp.<pid>" of runs killed with -9
}

CoreBtfCache::~CoreBtfCache() {
  if (memfd_ >= 0) close(memfd_);
}

std::filesystem::path CoreBtfCache::path() {
  if (path_.empty()) return {};
  std::error_code ec;
  if (std::filesystem::exists(path_, ec)) {
    note_ = "CO-RE relocations use the cached BTF " + path_.string();
    return path_;
  }
  return cut();
}

void CoreBtfCache::forget() {
  std::error_code ec;
  if (path_.empty()) return;
  std::filesystem::remove(path_, ec);
  if (memfd_ >= 0) close(memfd_);
  memfd_ = -1;
  cut();
}

std::filesystem::path CoreBtfCache::cut() {
  auto roots = btf::core_roots_of_object(elf_);
  if (!roots) {
    note_ = "CO-RE relocations use the kernel's BTF (they need its own type ids, or a type has no name)";
    return {};
  }
  std::string kernel_btf;
  std::optional<std::string> subset;
  {
    // Mapped where the kernel allows it (6.16 and later), else read.
    int fd = open(kKernelBtf, O_RDONLY | O_CLOEXEC);
    struct stat st{};
    void* map = MAP_FAILED;
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
      map = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (fd >= 0) close(fd);
    if (map != MAP_FAILED) {
      subset = btf::core_subset(std::string_view(static_cast<const char*>(map), st.st_size), *roots);
      munmap(map, static_cast<size_t>(st.st_size));
    } else {
      try {
        kernel_btf = read_file(kKernelBtf);
      } catch (const std::exception&) {
        return {};
      }
      subset = btf::core_subset(kernel_btf, *roots);
    }
  }
  if (!subset) {
    note_ = "CO-RE relocations use the kernel's BTF (a type they name is not in vmlinux's BTF)";
    return {};
  }
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  try {
    write_file_atomic(path_, *subset);
    note_ = "CO-RE relocations use the kernel's BTF cut to the types they read, cached as " + path_.string();
    return path_;
  } catch (const std::exception&) {
    // An unwritable cache only costs the next run's cut: this one reads it from memory.
    if (memfd_ < 0) memfd_ = memfd_create("ecli-core-btf", MFD_CLOEXEC);
    if (memfd_ < 0 || ftruncate(memfd_, 0) != 0 ||
        pwrite(memfd_, subset->data(), subset->size(), 0) != static_cast<ssize_t>(subset->size()))
      return {};
    note_ = "CO-RE relocations use the kernel's BTF cut to the types they read (not cached)";
    return "/proc/self/fd/" + std::to_string(memfd_);
  }
}

}  // namespace ecli::runtime
