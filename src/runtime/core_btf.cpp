#include "runtime/core_btf.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
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

// The start of struct btf_ext_header (linux/tools/lib/bpf/libbpf_internal.h).
struct BtfExtHeader {
  uint16_t magic;
  uint8_t version;
  uint8_t flags;
  uint32_t hdr_len;
  uint32_t func_info_off, func_info_len;
  uint32_t line_info_off, line_info_len;
  uint32_t core_relo_off, core_relo_len;  // present when hdr_len covers them
};

}  // namespace

bool has_core_relocations(const std::string& elf_bytes) {
  elf_version(EV_CURRENT);
  Elf* elf = elf_memory(const_cast<char*>(elf_bytes.data()), elf_bytes.size());
  if (!elf) return false;
  bool found = false;
  size_t names = 0;
  if (elf_getshdrstrndx(elf, &names) == 0) {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(elf, scn));) {
      GElf_Shdr shdr;
      if (!gelf_getshdr(scn, &shdr)) continue;
      const char* name = elf_strptr(elf, names, shdr.sh_name);
      if (!name || std::strcmp(name, ".BTF.ext") != 0) continue;
      Elf_Data* data = elf_getdata(scn, nullptr);
      BtfExtHeader header{};
      if (data && data->d_buf && data->d_size >= sizeof header) {
        std::memcpy(&header, data->d_buf, sizeof header);
        found = header.magic == 0xeB9F && header.hdr_len >= sizeof header && header.core_relo_len > 0;
      }
      break;
    }
  }
  elf_end(elf);
  return found;
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
