#include "btf/kernel_id.hpp"

#include <filesystem>

#include "util/error.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

namespace ecli::btf {

std::string running_kernel_id() {
  std::error_code ec;
  auto size = std::filesystem::file_size("/sys/kernel/btf/vmlinux", ec);
  if (ec) return {};
  try {
    std::string notes = read_file("/sys/kernel/notes");
    if (notes.empty()) return {};
    return Hasher().add(notes).add(std::to_string(size)).hex();
  } catch (const Error&) {
    return {};
  }
}

}  // namespace ecli::btf
