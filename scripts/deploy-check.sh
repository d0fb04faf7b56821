#!/usr/bin/env bash
# Checks deploy/ without a Kubernetes cluster: builds the image of
# deploy/Containerfile with podman, runs the pod template of
# deploy/daemonset.yaml with `podman kube play`, and shows that its mounts,
# capabilities and command work: ecli in the pod pulls opensnoop from a
# registry on loopback (Debian's docker-registry), loads it, sees an open()
# made on the host, and answers on http://127.0.0.1:9464/metrics.
# Then `podman kube down`, and nothing of ecli's is left in the kernel.
# Last, the image's "compiler" stage: ecc and ecc-clang there compile a tool.
#
#   scripts/deploy-check.sh            # uses build/ (scripts/setup.sh)
#   BUILD_DIR=build-x scripts/deploy-check.sh
#   DAEMONSET=my-daemonset.yaml scripts/deploy-check.sh   # an edited manifest
#
# Exit 77 (skipped) when podman, runc, catatonit, mmdebstrap (or debootstrap),
# docker-registry or python3-yaml is missing. The Debian base image is made once (about
# 2 minutes with mmdebstrap) and kept as localhost/ecli-deploy-base:bookworm;
# ECLI_DEPLOY_NEW_BASE=1 makes it again.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$(realpath -m "${BUILD_DIR:-$repo/build}")
daemonset=$(realpath -m "${DAEMONSET:-$repo/deploy/daemonset.yaml}")
base_image=localhost/ecli-deploy-base:bookworm
image=localhost/ecli-deploy:check
pod=ecli-deploy-check
port=9464

say() { echo "deploy-check: $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIPPED: $*"; exit 77; }
now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

[[ $(id -u) == 0 ]] || skip "needs root (BPF and podman's runc)"
for tool in podman runc catatonit docker-registry python3 curl bpftool capsh; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/setup.sh installs it)"
done
command -v mmdebstrap >/dev/null || command -v debootstrap >/dev/null ||
  skip "neither mmdebstrap nor debootstrap is installed (scripts/setup.sh installs mmdebstrap)"
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (scripts/setup.sh installs it)"
[[ -x $build_dir/ecli && -x $build_dir/ecc ]] || fail "no ecli and ecc in $build_dir: run scripts/setup.sh (or set BUILD_DIR)"
build_rel=$(realpath -m --relative-to="$repo" "$build_dir")
[[ $build_rel != ../* ]] || fail "BUILD_DIR $build_dir is outside the repository, the image's build context"
if ss -Hltn "sport = :$port" | grep -q .; then
  fail "port $port is in use here; the pod's ecli serves /metrics on it (host network)"
fi

work=$(mktemp -d /tmp/ecli-deploy-check.XXXXXX)
# podman here: runc (crun fails on this kernel's hybrid cgroups) and ulimits
# that fit; kube play takes both only from containers.conf.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$work/containers.conf
podman_limits=(--runtime runc --ulimit nofile=20000:20000 --ulimit nproc=4096:4096)
podman_build=(podman build "${podman_limits[@]}" --network host)

registry_pid=""
cleanup() {
  if [[ -f $work/pod.yaml ]]; then podman kube down "$work/pod.yaml" >/dev/null 2>&1 || true; fi
  if [[ -n $registry_pid ]]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# 1. A Debian 12 base image, since nothing can be pulled here: mmdebstrap
#    (about 2 minutes here) or else debootstrap (about 4).
if [[ ${ECLI_DEPLOY_NEW_BASE:-0} == 1 ]] || ! podman image exists "$base_image"; then
  start=$(now)
  mirror=http://deb.debian.org/debian
  if command -v mmdebstrap >/dev/null; then
    mmdebstrap --variant=minbase --mode=root bookworm "$work/rootfs.tar" "$mirror" >"$work/bootstrap.log" 2>&1 ||
      { tail -20 "$work/bootstrap.log" >&2; fail "mmdebstrap of bookworm failed"; }
  else
    debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/bootstrap.log" 2>&1 ||
      { tail -20 "$work/bootstrap.log" >&2; fail "debootstrap of bookworm failed"; }
    tar -C "$work/rootfs" -cf "$work/rootfs.tar" . && rm -rf "$work/rootfs"
  fi
  podman import "$work/rootfs.tar" "$base_image" >/dev/null 2>&1 || fail "podman import of the base image failed"
  rm -f "$work/rootfs.tar"
  say "base image $base_image made in $(took "$start")"
fi

# 2. The image, as the README builds it, from the repository's build.
start=$(now)
"${podman_build[@]}" -f "$repo/deploy/Containerfile" --build-arg BASE="$base_image" \
  --build-arg BUILD_DIR="$build_rel" -t "$image" "$repo" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log" >&2; fail "podman build of deploy/Containerfile failed"; }
say "image $image built in $(took "$start") ($(podman image inspect -f '{{.Size}}' "$image" | numfmt --to=si)B)"

# 3. The tool: opensnoop, compiled here and pushed with `ecli push` to a
#    registry on loopback, which the pod reaches on the host's network.
ECLI_CACHE_DIR=${ECLI_CACHE_DIR:-$work/cache} "$build_dir/ecc" -q -o "$work/tool" "$repo/examples/opensnoop/opensnoop.bpf.c" ||
  fail "ecc could not compile examples/opensnoop"
registry_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' \
  "$work/registry" "$registry_port" >"$work/registry.yml"
# docker-registry reads REGISTRY_* variables as its configuration.
env -u REGISTRY_AUTH_FILE docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$registry_port/v2/" >/dev/null && break
  sleep 0.1
done
tool=127.0.0.1:$registry_port/ecli/opensnoop:1
ECLI_CACHE_DIR=$work/push-cache "$build_dir/ecli" push --insecure "$work/tool/package.json" "$tool" >"$work/push.log" 2>&1 ||
  { cat "$work/push.log" "$work/registry.log" >&2; fail "ecli push to the loopback registry failed"; }
say "opensnoop pushed to $tool"

# 4. The DaemonSet's pod template as a Pod (podman 4.3 plays no DaemonSets),
#    on the host's network (podman's bridge networking fails here).
python3 "$repo/deploy/pod-from-daemonset.py" "$daemonset" --name "$pod" \
  --image "$image" --tool "$tool" --insecure --host-network >"$work/pod.yaml"
# podman 4.3 ignores hostPID in a pod spec: give it through containers.conf.
if python3 -c 'import sys, yaml; sys.exit(not yaml.safe_load(open(sys.argv[1]))["spec"].get("hostPID"))' "$work/pod.yaml"; then
  sed -i 's/^\[containers\]$/&\npidns = "host"/' "$CONTAINERS_CONF"
fi
start=$(now)
podman kube play "$work/pod.yaml" >"$work/play.log" 2>&1 || { cat "$work/play.log" >&2; fail "podman kube play failed"; }
container=$pod-ecli
logs() { podman logs "$container" 2>&1 | grep -v 'level=error msg=.*healthcheck' || true; }

# Ready when /metrics answers (ecli takes the port before loading, and
# answers from its main loop once everything is attached).
metrics=""
for _ in $(seq 100); do
  metrics=$(curl -sf "http://127.0.0.1:$port/metrics") && grep -q '^ecli_events_total' <<<"$metrics" && break
  metrics=""
  [[ $(podman inspect -f '{{.State.Running}}' "$container" 2>/dev/null) == true ]] || break
  sleep 0.2
done
[[ -n $metrics ]] || { logs >&2; fail "ecli in the pod did not serve /metrics on port $port"; }
say "pod running and /metrics answering $(took "$start") after kube play"

pid=$(podman inspect -f '{{.State.Pid}}' "$container")
[[ $(tr '\0' ' ' </proc/"$pid"/cmdline) == "/usr/local/bin/ecli run --metrics :$port --insecure $tool " ]] ||
  fail "the pod runs '$(tr '\0' ' ' </proc/"$pid"/cmdline)', not the manifest's command"

# Capabilities: exactly the manifest's, no new privileges, read-only root.
caps=$(capsh --decode="$(awk '/^CapEff/ {print $2}' /proc/"$pid"/status)" | cut -d= -f2 | tr , '\n' | sort | paste -sd,)
wanted=$(python3 -c 'import sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
ecli = next(c for c in pod["spec"]["containers"] if c["name"] == "ecli")
print(",".join(sorted("cap_" + c.lower() for c in ecli["securityContext"]["capabilities"]["add"])))' "$work/pod.yaml")
[[ $caps == "$wanted" ]] || fail "ecli runs with capabilities '$caps', the manifest adds '$wanted'"
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"$pid"/status || fail "no_new_privs is not set (allowPrivilegeEscalation: false)"
if podman exec "$container" touch /deploy-check 2>/dev/null; then fail "the root file system is writable"; fi
podman exec "$container" touch /var/cache/ecli/probe /tmp/probe || fail "the cache and /tmp volumes are not writable"
blobs=$(podman exec "$container" find /var/cache/ecli -path '*/blobs/sha256/*' -type f | wc -l)
[[ $blobs -gt 0 ]] || fail "ecli pulled nothing into its cache volume /var/cache/ecli"
say "ecli (pid $pid) runs with $caps, no_new_privs, a read-only root; pulled $blobs blobs into /var/cache/ecli"

# hostPID, and the host mounts where the manifest puts them.
[[ $(readlink /proc/"$pid"/ns/pid) == "$(readlink /proc/$$/ns/pid)" ]] || fail "the pod does not share the host's pid namespace ($(readlink /proc/"$pid"/ns/pid), not $(readlink /proc/$$/ns/pid))"
mount_of() { awk -v dir="$1" '$5 == dir { split($6, opts, ","); print $(NF-2), opts[1] }' /proc/"$pid"/mountinfo | tail -1; }
[[ $(mount_of /sys/kernel/tracing) == "tracefs rw" ]] || fail "no read-write tracefs at /sys/kernel/tracing in the pod ($(mount_of /sys/kernel/tracing))"
[[ $(mount_of /sys/fs/cgroup) == *" ro" ]] || fail "no read-only /sys/fs/cgroup in the pod ($(mount_of /sys/fs/cgroup))"
[[ $(mount_of /) == *" ro" ]] || fail "the pod's root is mounted $(mount_of /)"
say "host pid namespace; tracefs read-write, /sys/fs/cgroup read-only: $(mount_of /sys/fs/cgroup)"

# The memory limit, which BPF maps are charged to as well, is in force.
limit=$(python3 -c 'import sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
ecli = next(c for c in pod["spec"]["containers"] if c["name"] == "ecli")
units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
value = str(ecli["resources"]["limits"]["memory"])
print(int(value[:-2]) * units[value[-2:]] if value[-2:] in units else int(value))' "$work/pod.yaml")
memory_cgroup=$(awk -F: '$2 == "memory" { v1 = "/sys/fs/cgroup/memory" $3 "/memory.limit_in_bytes" }
                         $1 == "0" { v2 = "/sys/fs/cgroup" $3 "/memory.max" }
                         END { print (v1 != "" ? v1 : v2) }' /proc/"$pid"/cgroup)
[[ $(cat "$memory_cgroup") == "$limit" ]] || fail "the pod's memory limit is $(cat "$memory_cgroup"), the manifest's $limit"
say "memory limit $limit bytes in force ($memory_cgroup)"

# Events: an open() on the host, of a name nobody else opens, shows up.
marker=$work/opened-by-deploy-check-$$
for _ in $(seq 50); do
  cat "$marker" 2>/dev/null || true
  logs | grep -q "$marker" && break
  sleep 0.1
done
logs | grep -q "$marker" || { logs | tail -20 >&2; fail "opensnoop in the pod did not report the open() of $marker"; }
metrics=$(curl -sf "http://127.0.0.1:$port/metrics") || fail "/metrics stopped answering"
events=$(awk '/^ecli_events_total\{stream="events"\}/ {print $2}' <<<"$metrics")
[[ ${events:-0} -gt 0 ]] || { echo "$metrics" >&2; fail "ecli_events_total{stream=\"events\"} is not positive"; }
say "opensnoop in the pod saw the host's open(); ecli_events_total{stream=\"events\"} $events"
grep -E '^ecli_events' <<<"$metrics"
rss=$(awk '/^VmRSS/ {print $2 " " $3}' /proc/"$pid"/status)

# What ecli holds in the kernel, from its file descriptors.
prog_ids=$(grep -h '^prog_id:' /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
link_ids=$(grep -h '^link_id:' /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -u)
[[ -n $prog_ids ]] || fail "ecli holds no BPF programs"
say "ecli holds programs $(paste -sd' ' <<<"$prog_ids") and links $(paste -sd' ' <<<"$link_ids"); resident $rss"

# 5. Down, and nothing left: the process, its programs, links, tracefs instance.
start=$(now)
podman kube down "$work/pod.yaml" >/dev/null 2>&1 || fail "podman kube down failed"
rm -f "$work/pod.yaml"
say "kube down in $(took "$start")"
[[ ! -e /proc/$pid ]] || fail "ecli (pid $pid) is still running"
for id in $prog_ids; do
  if bpftool prog show id "$id" >/dev/null 2>&1; then fail "program $id is still loaded"; fi
done
for id in $link_ids; do
  if bpftool link show id "$id" >/dev/null 2>&1; then fail "link $id is still attached"; fi
done
[[ ! -e /sys/kernel/tracing/instances/ecli-$pid ]] || fail "tracefs instance ecli-$pid is left"
say "OK: nothing of ecli's is left in the kernel"

# 6. The "compiler" stage: ecc and ecc-clang in the image find everything
#    they link and clang's headers, and compile a tool there.
start=$(now)
"${podman_build[@]}" -f "$repo/deploy/Containerfile" --target compiler --build-arg BASE="$base_image" \
  --build-arg BUILD_DIR="$build_rel" -t "$image-ecc" "$repo" >"$work/build-ecc.log" 2>&1 ||
  { tail -30 "$work/build-ecc.log" >&2; fail "podman build --target compiler of deploy/Containerfile failed"; }
compiled=$(podman run --rm "${podman_limits[@]}" --network none \
  -v "$repo/examples/opensnoop:/src:ro" --entrypoint /bin/sh "$image-ecc" -c \
  'ECLI_CACHE_DIR=/tmp/cache ecc -q -o /tmp/tool /src/opensnoop.bpf.c && test -s /tmp/tool/package.json && test -s /tmp/tool/opensnoop.bpf.o && ecc --version' 2>&1) ||
  { echo "$compiled" >&2; fail "ecc in the compiler image could not compile examples/opensnoop"; }
say "compiler image built and compiled opensnoop with ${compiled} in $(took "$start")"
