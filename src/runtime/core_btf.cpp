#include "runtime/core_btf.hpp"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "btf/kernel_id.hpp"
#include "util/files.hpp"
#include "util/hash.hpp"

extern char** environ;

namespace ecli::runtime {
namespace {

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
  path_ = cache_dir() / "core-btf" / (Hasher().add(kernel).add(elf).hex() + ".btf");
  remove_stale_temporaries(path_.parent_path());  // "<key>.btf[.o].tmp.<pid>" of runs killed with -9
}

CoreBtfCache::~CoreBtfCache() { stop(); }

std::filesystem::path CoreBtfCache::cached() const {
  std::error_code ec;
  if (path_.empty() || !std::filesystem::exists(path_, ec)) return {};
  return path_;
}

void CoreBtfCache::forget() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove(path_, ec);
}

void CoreBtfCache::generate(const std::string& elf, std::chrono::milliseconds patience) {
  if (path_.empty() || child_ > 0 || !cached().empty() || !start(elf)) return;
  auto deadline = std::chrono::steady_clock::now() + patience;
  int status = 0;
  pid_t done = 0;
  while ((done = waitpid(child_, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (done == child_) {
    child_ = -1;
    std::error_code ec;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && std::filesystem::file_size(tmp_btf_, ec) > 0 && !ec)
      std::filesystem::rename(tmp_btf_, path_, ec);
  }
  stop();
}

bool CoreBtfCache::start(const std::string& elf) {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  std::string suffix = ".tmp." + std::to_string(getpid());
  tmp_object_ = path_;
  tmp_object_ += ".o" + suffix;
  tmp_btf_ = path_;
  tmp_btf_ += suffix;
  try {
    write_file_atomic(tmp_object_, elf);
  } catch (const std::exception&) {
    tmp_object_.clear();
    return false;  // an unwritable cache only costs speed
  }

  // Its own process group, so a Ctrl-C meant for ecli does not reach it, and
  // no signal blocked: ecli blocks SIGINT/SIGTERM to read them from a signalfd.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<std::string> args = {"bpftool", "gen", "min_core_btf", "/sys/kernel/btf/vmlinux", tmp_btf_.string(),
                                   tmp_object_.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, "bpftool", &files, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    stop();  // no bpftool: no cache
    return false;
  }
  child_ = pid;
  setpriority(PRIO_PROCESS, static_cast<id_t>(pid), 19);  // a cache is never worth slowing the machine's own work
  return true;
}

void CoreBtfCache::stop() {
  if (child_ > 0) {
    kill(child_, SIGKILL);
    waitpid(child_, nullptr, 0);
    child_ = -1;
  }
  std::error_code ec;
  if (!tmp_object_.empty()) std::filesystem::remove(tmp_object_, ec);
  if (!tmp_btf_.empty()) std::filesystem::remove(tmp_btf_, ec);
  tmp_object_.clear();
  tmp_btf_.clear();
}

}  // namespace ecli::runtime
