#include "symbols/kallsyms.hpp"

#include <algorithm>

#include "util/error.hpp"
#include "util/files.hpp"

namespace ecli::symbols {

const Kallsyms& Kallsyms::instance() {
  // read() in large chunks: a stringstream copied the ~5 MB three times over.
  static const Kallsyms symbols = [] {
    try {
      return Kallsyms(read_file("/proc/kallsyms"));
    } catch (const Error&) {
      return Kallsyms(std::string());
    }
  }();
  return symbols;
}

Kallsyms::Kallsyms(std::string text) : text_(std::move(text)) {
  size_t pos = 0;
  while (pos < text_.size()) {
    size_t end = text_.find('\n', pos);
    if (end == std::string::npos) end = text_.size();
    std::string_view line(text_.data() + pos, end - pos);
    size_t at = pos;
    pos = end + 1;
    // "ADDRESS TYPE NAME[\t[MODULE]]"
    size_t sp1 = line.find(' '), sp2 = sp1 == line.npos ? line.npos : line.find(' ', sp1 + 1);
    if (sp2 == line.npos || sp2 != sp1 + 2) continue;
    char type = line[sp1 + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;  // code only
    uint64_t address = 0;
    bool ok = sp1 > 0;
    for (size_t i = 0; i < sp1 && ok; i++) {
      char c = line[i];
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      ok = digit >= 0;
      address = address << 4 | uint64_t(digit);
    }
    if (!ok || address == 0) continue;  // addresses hidden by kptr_restrict read as 0
    size_t name_end = line.find_first_of("\t ", sp2 + 1);
    if (name_end == line.npos) name_end = line.size();
    // "\t[ext4]" after the name for a module's symbols
    uint32_t module_at = 0, module_len = 0;
    size_t open = line.find('[', name_end), close = open == line.npos ? line.npos : line.find(']', open + 1);
    if (close != line.npos) {
      module_at = static_cast<uint32_t>(at + open + 1);
      module_len = static_cast<uint32_t>(close - open - 1);
    }
    symbols_.push_back({address, static_cast<uint32_t>(at + sp2 + 1), static_cast<uint32_t>(name_end - sp2 - 1),
                        module_at, module_len});
  }
  std::stable_sort(symbols_.begin(), symbols_.end(),
                   [](const Entry& a, const Entry& b) { return a.address < b.address; });
}

bool Kallsyms::has_function(std::string_view name) const {
  return std::any_of(symbols_.begin(), symbols_.end(), [&](const Entry& e) {
    return std::string_view(text_.data() + e.name_at, e.name_len) == name;
  });
}

std::optional<KernelSymbol> Kallsyms::lookup(uint64_t address) const {
  if (address == 0 || symbols_.empty()) return std::nullopt;
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                             [](uint64_t a, const Entry& e) { return a < e.address; });
  if (it == symbols_.begin()) return std::nullopt;
  --it;
  uint64_t offset = address - it->address;
  if (it + 1 == symbols_.end() && offset > (1u << 20)) return std::nullopt;
  return KernelSymbol{std::string_view(text_.data() + it->name_at, it->name_len), offset,
                      std::string_view(text_.data() + it->module_at, it->module_len)};
}

}  // namespace ecli::symbols
