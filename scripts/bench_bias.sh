#!/usr/bin/env bash
# Benchmark of `rpbtool bias` against the peer (PyTorch, Hugging Face T5 compute_bias) and
# the machine's memory write bandwidth, by the project's benchmark rules (the points below).
# Writes the result table to docs/benchmarks-bias.md.
#
#   scripts/bench_bias.sh                 (RPBTOOL=build/rpbtool, REPS=5)
#   RPBTOOL=/path/to/rpbtool REPS=7 scripts/bench_bias.sh
#
# - rpbtool is timed as a whole process (start-up, table init, writing the npy to
#   /dev/null); the peer in-process after import, on compute_bias alone. They alternate in
#   one run (bench_bias_peer.py drives both); medians and ratios are reported.
# - Peak memory: max RSS from /usr/bin/time -v (a second, untimed run) for rpbtool; ru_maxrss
#   of its own process for the peer. The 16384 case runs rpbtool alone under /usr/bin/time -v,
#   piped to wc -c.
# - Memory bandwidth: a C memset of the output size, on fresh memory (page faults included,
#   as for any output buffer that is first touched) and again on the same memory (warm).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rpbtool=${RPBTOOL:-$root/build/rpbtool}
reps=${REPS:-5}
out_md=${OUT:-$root/docs/benchmarks-bias.md}
heads=12
python=/usr/bin/python3

die() { echo "bench_bias: $*" >&2; exit 1; }

"$root/scripts/install_packages.sh" bench_bias python3-torch python3-numpy libopenblas0-pthread time
[[ -x $rpbtool ]] || die "no rpbtool at $rpbtool (build it, or set RPBTOOL)"
"$rpbtool" bias --qlen 8 --heads 2 --format npy -o /dev/null ||
    die "$rpbtool bias does not run"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/memset_bw.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static int cmp(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}
/* memset_bw BYTES REPS: median GB/s of a memset of BYTES on fresh and on warm memory. */
int main(int argc, char** argv) {
    size_t bytes = strtoull(argv[1], 0, 10);
    int reps = atoi(argv[2]);
    double fresh[64], warm[64];
    for (int r = 0; r < reps && r < 64; ++r) {
        char* p = malloc(bytes);
        if (!p) return 1;
        double t0 = now();
        memset(p, r + 1, bytes);
        double t1 = now();
        memset(p, r + 2, bytes);
        double t2 = now();
        volatile char sink = p[bytes / 2];
        (void)sink;
        free(p);
        fresh[r] = bytes / (t1 - t0) / 1e9;
        warm[r] = bytes / (t2 - t1) / 1e9;
    }
    qsort(fresh, reps, sizeof(double), cmp);
    qsort(warm, reps, sizeof(double), cmp);
    printf("%.2f %.2f\n", fresh[reps / 2], warm[reps / 2]);
    return 0;
}
C
cc -O2 -o "$tmp/memset_bw" "$tmp/memset_bw.c"
# rpbtool's whole-process time is taken by this small timer process (see bench_timer.c).
cc -O2 -o "$tmp/bench_timer" "$root/scripts/bench_timer.c"
export BENCH_TIMER=$tmp/bench_timer

# median of the numbers on standard input
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

rows=()
for q in 1024 4096; do
    bytes=$((heads * q * q * 4))
    read -r bw_fresh bw_warm < <("$tmp/memset_bw" "$bytes" "$reps")
    for mode in view contiguous; do
        flag=()
        [[ $mode == contiguous ]] && flag=(--contiguous)
        echo "bench_bias: q=$q peer ($mode) vs rpbtool, $reps reps" >&2
        "$python" "$root/scripts/bench_bias_peer.py" --qlen "$q" --heads "$heads" --reps "$reps" \
            "${flag[@]}" --rpbtool "$rpbtool" bias --qlen "$q" --heads "$heads" --format npy \
            -o /dev/null >"$tmp/run_${q}_$mode.tsv"
    done
    cat "$tmp"/run_"$q"_*.tsv | awk '$1 == "rpbtool" {print $2}' >"$tmp/rpb_t"
    cat "$tmp"/run_"$q"_*.tsv | awk '$1 == "rpbtool" {print $3}' >"$tmp/rpb_rss"
    rpb_t=$(median <"$tmp/rpb_t")
    rpb_rss=$(median <"$tmp/rpb_rss")
    peer_view=$(awk '$1 == "peer" {print $2}' "$tmp/run_${q}_view.tsv" | median)
    peer_cont=$(awk '$1 == "peer" {print $2}' "$tmp/run_${q}_contiguous.tsv" | median)
    rss_view=$(awk '$1 == "peer_rss" {print $2}' "$tmp/run_${q}_view.tsv")
    rss_cont=$(awk '$1 == "peer_rss" {print $2}' "$tmp/run_${q}_contiguous.tsv")
    rows+=("$(awk -v q="$q" -v h="$heads" -v b="$bytes" -v t="$rpb_t" -v r="$rpb_rss" \
        -v pv="$peer_view" -v pc="$peer_cont" -v rv="$rss_view" -v rc="$rss_cont" \
        -v bf="$bw_fresh" -v bw="$bw_warm" 'BEGIN {
        gbs = b / t / 1e9
        printf "| T5 bias (%d, %d, %d), npy, %.0f MB | %.3f s (%.2f GB/s), %.1f MB | %.3f s, %.0f MB | %.3f s, %.0f MB | %.1fx / %.1fx | %.1f / %.1f GB/s (rpbtool: %.0f%% of warm) |",
            h, q, q, b / 1e6, t, gbs, r / 1024, pv, rv / 1024, pc, rc / 1024, pv / t, pc / t,
            bf, bw, 100 * gbs / bw }')")
done

# 16384: 12.9 GB through a pipe, rpbtool only (the peer would need 13 GB of memory for the
# output and several times that for its int64 temporaries).
q=16384
bytes=$((heads * q * q * 4))
: >"$tmp/big_t"
: >"$tmp/big_rss"
for ((r = 0; r < 3; ++r)); do
    echo "bench_bias: q=$q rpbtool | wc -c, rep $((r + 1))/3" >&2
    start=$(date +%s.%N)
    count=$(/usr/bin/time -v -o "$tmp/time.txt" "$rpbtool" bias --qlen "$q" --heads "$heads" \
        --format npy -o - | wc -c)
    end=$(date +%s.%N)
    ((count > bytes)) || die "rpbtool wrote $count bytes for q=$q, expected $bytes + header"
    awk -v s="$start" -v e="$end" 'BEGIN {print e - s}' >>"$tmp/big_t"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt" >>"$tmp/big_rss"
done
# The pipe's own limit: the same number of bytes from dd through wc -c.
start=$(date +%s.%N)
dd if=/dev/zero bs=4M count=$((bytes >> 22)) status=none | wc -c >/dev/null
end=$(date +%s.%N)
pipe_gbs=$(awk -v s="$start" -v e="$end" -v b="$bytes" 'BEGIN {printf "%.2f", b / (e - s) / 1e9}')
big_t=$(median <"$tmp/big_t")
big_rss=$(sort -g "$tmp/big_rss" | tail -1)
rows+=("$(awk -v q="$q" -v h="$heads" -v b="$bytes" -v t="$big_t" -v r="$big_rss" \
    -v p="$pipe_gbs" 'BEGIN {
    printf "| T5 bias (%d, %d, %d), npy to `wc -c`, %.1f GB | %.2f s (%.2f GB/s), %.1f MB (max of 3) | not run | not run | | pipe limit (dd to wc -c): %s GB/s |",
        h, q, q, b / 1e9, t, b / t / 1e9, r / 1024, p }')")

load=$(cut -d' ' -f1-3 /proc/loadavg)
model=$(lscpu | awk -F': *' '/^Model name/ {print $2; exit}')
cpus=$(nproc)
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
{
    echo "# rpbtool bias benchmark"
    echo
    echo "Produced by \`scripts/bench_bias.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $model,"
    echo "$cpus cores; PyTorch $torch_version with \`torch.set_num_threads(2)\`; $reps alternating"
    echo "repetitions per size, medians."
    echo
    echo "| job | rpbtool (whole process, max RSS) | peer: HF T5 compute_bias (view), max RSS | peer + .contiguous(), max RSS | speed-up vs peer (view / contiguous) | memset of the output size, fresh / warm |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- rpbtool: \`rpbtool bias --qlen Q --heads 12 --format npy -o /dev/null\` (a fresh"
    echo "  trunc-normal table from seed 0), timed from spawn to exit by the driver, so start-up,"
    echo "  table init and the npy writer are all included; max RSS from a second, untimed run"
    echo "  under /usr/bin/time -v."
    echo "- Peer: \`T5Attention.compute_bias\` as in Hugging Face transformers (arange positions,"
    echo "  \`memory - context\`, \`_relative_position_bucket\` in float32, \`nn.Embedding\` gather,"
    echo "  \`permute([2, 0, 1]).unsqueeze(0)\`), in-process after import and a warm-up. HF returns"
    echo "  the permuted view; the contiguous column adds the copy into (1, H, q, k) C order, the"
    echo "  layout rpbtool writes. The peer's max RSS is that of its whole process (including"
    echo "  the PyTorch import)."
    echo "- memset: a C \`memset\` of the output size on freshly allocated memory (page faults"
    echo "  included) and on the same memory again (warm: the write-bandwidth limit). rpbtool's"
    echo "  GB/s = output bytes / its whole-process time; it writes through a few reused 4 MB"
    echo "  buffers, so it pays almost no page faults, and is compared with the warm figure."
    echo "- Machines here are shared: the load average during the run was $load."
} >"$out_md"
cat "$out_md"
