// SPDX-License-Identifier: GPL-2.0
// Copyright (c) 2020 Wenbo Zhang
/* libbpf-tools' biolatency as a kernel half alone, with no annotations: block
 * request latency, from issue (or, with targ_queued, from insertion into the
 * queue) to completion, as a log2 histogram of microseconds per disk.
 *
 * `start` holds the issue time of each request in flight and is deleted from
 * at completion: state between the programs, not printed. `hists` is only
 * ever added to: the result, printed by ecli at exit (and every -i SECONDS)
 * as one histogram per disk, headed by the key (the disk's dev_t) and the
 * value's other field (the disk's name). */
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define MAX_ENTRIES 10240
#define MAX_SLOTS 27
#define DISK_NAME_LEN 32
#define MINORBITS 20
#define MKDEV(ma, mi) (((ma) << MINORBITS) | (mi))

struct hist_key {
    __u32 dev;
};

struct hist {
    __u32 slots[MAX_SLOTS];
    char disk[DISK_NAME_LEN];
};

/* Options (ecli makes each one a flag): */
const volatile bool targ_queued = false; /* from insertion, not issue */
const volatile bool targ_ms = false;     /* milliseconds, not microseconds */
const volatile __u32 targ_dev = 0;       /* only this dev_t (0: every disk) */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct request *);
    __type(value, u64);
} start SEC(".maps");

static struct hist initial_hist;

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, MAX_ENTRIES);
    __type(key, struct hist_key);
    __type(value, struct hist);
} hists SEC(".maps");

/* struct request lost rq_disk in Linux 5.17: the disk is rq->q->disk since. */
struct request___x {
    struct request_queue *q;
    struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *get_disk(void *request)
{
    struct request___x *r = request;

    if (bpf_core_field_exists(r->rq_disk))
        return BPF_CORE_READ(r, rq_disk);
    return BPF_CORE_READ(r, q, disk);
}

static __always_inline __u32 disk_dev(struct gendisk *disk)
{
    return disk ? MKDEV(BPF_CORE_READ(disk, major), BPF_CORE_READ(disk, first_minor)) : 0;
}

static __always_inline u64 log2(u32 v)
{
    u32 shift, r;

    r = (v > 0xFFFF) << 4; v >>= r;
    shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
    shift = (v > 0xF) << 2; v >>= shift; r |= shift;
    shift = (v > 0x3) << 1; v >>= shift; r |= shift;
    r |= (v >> 1);
    return r;
}

static __always_inline u64 log2l(u64 v)
{
    u32 hi = v >> 32;

    return hi ? log2(hi) + 32 : log2(v);
}

static __always_inline int trace_rq_start(struct request *rq, bool issue)
{
    u64 ts;

    if (issue && targ_queued && BPF_CORE_READ(rq, q, elevator))
        return 0;
    if (targ_dev && disk_dev(get_disk(rq)) != targ_dev)
        return 0;
    ts = bpf_ktime_get_ns();
    bpf_map_update_elem(&start, &rq, &ts, BPF_ANY);
    return 0;
}

static __always_inline int trace_rq_done(struct request *rq)
{
    struct hist_key hkey = {};
    struct gendisk *disk;
    struct hist *histp;
    u64 slot, *tsp, ts = bpf_ktime_get_ns();
    s64 delta;

    tsp = bpf_map_lookup_elem(&start, &rq);
    if (!tsp)
        return 0;
    delta = (s64)(ts - *tsp);
    if (delta < 0)
        goto cleanup;

    disk = get_disk(rq);
    hkey.dev = disk_dev(disk);
    histp = bpf_map_lookup_elem(&hists, &hkey);
    if (!histp) {
        bpf_map_update_elem(&hists, &hkey, &initial_hist, BPF_NOEXIST);
        histp = bpf_map_lookup_elem(&hists, &hkey);
        if (!histp)
            goto cleanup;
        if (disk)
            bpf_probe_read_kernel_str(histp->disk, sizeof(histp->disk), disk->disk_name);
    }

    if (targ_ms)
        delta /= 1000000U;
    else
        delta /= 1000U;
    slot = log2l(delta);
    if (slot >= MAX_SLOTS)
        slot = MAX_SLOTS - 1;
    __sync_fetch_and_add(&histp->slots[slot], 1);

cleanup:
    bpf_map_delete_elem(&start, &rq);
    return 0;
}

/* The same hooks twice, as libbpf-tools carries them: ecli attaches the
 * BTF-typed tracepoints where the kernel has them and the raw ones where
 * not, never both. */
SEC("tp_btf/block_rq_insert")
int BPF_PROG(block_rq_insert_btf, struct request *rq)
{
    return targ_queued ? trace_rq_start(rq, false) : 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue_btf, struct request *rq)
{
    return trace_rq_start(rq, true);
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete_btf, struct request *rq, int error, unsigned int nr_bytes)
{
    return trace_rq_done(rq);
}

SEC("raw_tp/block_rq_insert")
int BPF_PROG(block_rq_insert, struct request *rq)
{
    return targ_queued ? trace_rq_start(rq, false) : 0;
}

SEC("raw_tp/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
    return trace_rq_start(rq, true);
}

SEC("raw_tp/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
    return trace_rq_done(rq);
}

char LICENSE[] SEC("license") = "GPL";
