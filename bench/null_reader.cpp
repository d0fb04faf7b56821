// bench_null_reader OBJECT PID: loads a BPF object whose events go to a ring
// buffer map named "events" (examples/opensnoop), sets its `pid_target`
// global to PID, attaches every program, and reads the ring the way ecli
// does (every millisecond while events flow, no wake-up per event) but
// throws each event away. In bench_storm it separates what the kernel side
// of a tracer costs the traced program (building and submitting events)
// from what printing them costs.
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

volatile sig_atomic_t stop = 0;
long events = 0;

int discard(void*, void*, size_t) {
  events++;
  return 0;
}

// Writes `value` into the .rodata variable `name` before load.
bool set_rodata(struct bpf_object* obj, const char* name, int value) {
  struct bpf_map* rodata = nullptr;
  struct bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (std::strstr(bpf_map__name(map), ".rodata")) rodata = map;
  }
  const struct btf* btf = bpf_object__btf(obj);
  if (!rodata || !btf) return false;
  size_t size = 0;
  const void* initial = bpf_map__initial_value(rodata, &size);
  int sec = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (!initial || sec < 0) return false;
  const struct btf_type* t = btf__type_by_id(btf, sec);
  const struct btf_var_secinfo* v = btf_var_secinfos(t);
  for (int i = 0; i < btf_vlen(t); i++, v++) {
    const char* var = btf__name_by_offset(btf, btf__type_by_id(btf, v->type)->name_off);
    if (std::strcmp(var, name) != 0 || v->offset + sizeof value > size) continue;
    std::vector<char> data(static_cast<const char*>(initial), static_cast<const char*>(initial) + size);
    std::memcpy(data.data() + v->offset, &value, sizeof value);
    return bpf_map__set_initial_value(rodata, data.data(), size) == 0;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_null_reader OBJECT PID\n");
    return 2;
  }
  struct bpf_object* obj = bpf_object__open_file(argv[1], nullptr);
  if (!obj || !set_rodata(obj, "pid_target", std::atoi(argv[2])) || bpf_object__load(obj)) {
    std::fprintf(stderr, "bench_null_reader: cannot load %s\n", argv[1]);
    return 1;
  }
  std::vector<struct bpf_link*> links;
  struct bpf_program* prog;
  bpf_object__for_each_program(prog, obj) links.push_back(bpf_program__attach(prog));
  struct ring_buffer* ring =
      ring_buffer__new(bpf_map__fd(bpf_object__find_map_by_name(obj, "events")), discard, nullptr, nullptr);
  if (!ring) return 1;
  signal(SIGINT, [](int) { stop = 1; });
  std::fprintf(stderr, "running\n");
  while (!stop) {
    int n = ring_buffer__consume(ring);
    usleep(n > 0 ? 1000 : 16000);
  }
  ring_buffer__consume(ring);
  std::printf("%ld events read and discarded\n", events);
  ring_buffer__free(ring);
  for (auto* link : links) bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
