#!/usr/bin/env bash
# Benchmark of `rpbtool attn` (multi-head self-attention with relative position bias)
# against the peer (PyTorch as HF T5 and Swin compute it) and the machine's sgemm rate, by the
# project's benchmark rules (the points below). Writes the result table to
# docs/benchmarks-attn.md.
#
#   scripts/bench_attn.sh                  (REPS=5; BUILD=build; RPBTOOL: see below)
#   RPBTOOL=/path/to/rpbtool REPS=7 scripts/bench_attn.sh
#
# - RPBTOOL: the command timed as `$RPBTOOL attn --type t5 --qlen 4096 ...` (default
#   $BUILD/rpbtool). A small timing probe with the same options is also built here from
#   $BUILD/librpbcore.a: it calls rpb::attention_forward in-process to time the attention
#   core apart from start-up and projections (the whole-process numbers are rpbtool's own).
# - Whole process for rpbtool (start-up, reading a numpy-made input, output to /dev/null), in-process after import
#   for the peer; they alternate in one run (bench_attn_peer.py drives both); medians and
#   ratios. Peak memory: /usr/bin/time -v (a second, untimed run) for rpbtool, ru_maxrss of its own process (torch
#   import included) for the peer.
# - The attention core's GFLOP/s (4 B H N^2 d flops, Q K^T and P V) comes from the driver's
#   --timing runs: best-of-3 forward time minus the two projection sgemms timed alone. It is set
#   against torch.mm 2048 x 2048 measured in the same run (the OpenBLAS sgemm rate).
# - Kernel paths: the main table runs rpbtool's default path (the best this CPU supports);
#   a second table runs T5 N=4096 and Swin on every path (RPB_KERNEL_PATH=avx512|avx2|scalar;
#   PATH_REPS=3, SWIN_PATH_REPS=11), each against the peer again. A third check runs rpbtool
#   with and without OPENBLAS_CORETYPE=Prescott (PRESCOTT_REPS=5, PRESCOTT_SWIN_REPS=31): it links no BLAS, so the
#   two must agree within noise.
# - The peer's BLAS: Debian's OpenBLAS falls back to its Prescott (SSE3) kernel on CPUs it
#   does not know; the peer then gets OPENBLAS_CORETYPE=SkylakeX (AVX-512 CPUs) or Haswell
#   (AVX2), for its own process only (PEER_CORETYPE overrides the choice; "" keeps
#   OpenBLAS's own). Both the path and the BLAS kernel are printed in the report.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
reps=${REPS:-5}
# The Swin job takes ~0.1 s per repetition on both sides and its peer's time is bimodal on
# this machine (0.03 s or 0.1 s per forward): more repetitions for a stable median.
swin_reps=${SWIN_REPS:-31}
out_md=${OUT:-$root/docs/benchmarks-attn.md}
python=/usr/bin/python3

die() { echo "bench_attn: $*" >&2; exit 1; }

"$root/scripts/install_packages.sh" bench_attn python3-torch python3-numpy libopenblas0-pthread time
[[ -f $build/librpbcore.a ]] || die "no $build/librpbcore.a (build the project, or set BUILD)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/driver.cpp" <<'CPP'
// rpb_bench_attn: the in-process timing probe for the attention core (written by
// scripts/bench_attn.sh). Same option names
// (subset); random input and weights from seed 0; writes the (B, N, E) output as .npy.
#include "rpb/attention.hpp"
#include "rpb/gemm.hpp"
#include "rpb/index.hpp"
#include "rpb/npy.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

int main(int argc, char** argv) {
    rpb::Scheme scheme;
    int64_t embed = 96, heads = 12, batch = 1;
    bool timing = false;
    rpb::AttentionConfig config;
    std::string out = "-";
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        auto next = [&] { return std::string(argv[++i]); };
        if (a == "--type") {
            std::string t = next();
            scheme.type = t == "t5" ? rpb::SchemeType::t5
                          : t == "1d" ? rpb::SchemeType::window1d : rpb::SchemeType::window2d;
        } else if (a == "--qlen") {
            scheme.qlen = scheme.klen = std::stoll(next());
        } else if (a == "--window") {
            std::string w = next();
            auto x = w.find('x');
            scheme.window_h = std::stoll(w.substr(0, x));
            scheme.window_w = x == std::string::npos ? scheme.window_h : std::stoll(w.substr(x + 1));
        } else if (a == "--embed-dim") {
            embed = std::stoll(next());
        } else if (a == "--heads") {
            heads = std::stoll(next());
        } else if (a == "--batch") {
            batch = std::stoll(next());
        } else if (a == "--scale") {
            config.scale = std::stof(next());
        } else if (a == "--causal") {
            scheme.t5.bidirectional = false;
            config.causal = true;
        } else if (a == "--threads") {
            config.threads = std::stoi(next());
        } else if (a == "--format") {
            next(); // always npy
        } else if (a == "--timing") {
            timing = true;
        } else if (a == "-o") {
            out = next();
        } else {
            std::fprintf(stderr, "rpb_bench_attn: unknown option %s\n", a.c_str());
            return 2;
        }
    }
    config.heads = heads;
    using clock = std::chrono::steady_clock;
    auto seconds = [](clock::time_point a, clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    const rpb::EntryIndex index(scheme);
    const int64_t n = index.rows();
    const rpb::AttentionWeights w = rpb::init_weights(embed, heads, index.num_entries(), 0);
    rpb::FloatTensor x({batch, n, embed});
    uint64_t s = 12345;
    for (float& v : x.values()) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        v = (static_cast<float>(s >> 40) * 0x1.0p-24f - 0.5f) * 3.46f;
    }
    timespec c0{}, c1{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    const auto t0 = clock::now();
    const rpb::FloatTensor y = rpb::attention_forward(x, w, index, config, nullptr);
    auto t1 = clock::now();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    double fwd = seconds(t0, t1);
    for (int r = 0; timing && r < 2; ++r) {
        // --timing: best of three calls so that page faults and a busy machine weigh less.
        const auto r0 = clock::now();
        rpb::attention_forward(x, w, index, config, nullptr);
        fwd = std::min(fwd, seconds(r0, clock::now()));
    }
    std::FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
    const std::string header = rpb::npy_header("<f4", y.shape());
    std::fwrite(header.data(), 1, header.size(), f);
    std::fwrite(y.data(), sizeof(float), static_cast<size_t>(y.size()), f);
    if (f != stdout) std::fclose(f);
    if (timing) {
        // The projections alone (same gemm shapes, one call each) to separate the attention
        // core.
        const int64_t rows = batch * n;
        std::vector<float> c(static_cast<size_t>(rows * 3 * embed));
        double proj = 1e9;
        for (int r = 0; r < 3; ++r) {
            const auto p0 = clock::now();
            rpb::gemm({.trans_b = true, .m = rows, .n = 3 * embed, .k = embed}, x.data(), embed,
                      w.qkv_weight.data(), embed, 0.0f, c.data(), 3 * embed);
            rpb::gemm({.trans_b = true, .m = rows, .n = embed, .k = embed}, x.data(), embed,
                      w.proj_weight.data(), embed, 0.0f, c.data(), embed);
            proj = std::min(proj, seconds(p0, clock::now()));
        }
        const double d = static_cast<double>(embed / heads);
        const double core_flops = 4.0 * batch * heads * double(n) * n * d;
        const double cpu = double(c1.tv_sec - c0.tv_sec) + 1e-9 * double(c1.tv_nsec - c0.tv_nsec);
        std::fprintf(stderr, "cpu %.3f ", cpu);
        std::fprintf(stderr, "forward %.6f proj %.6f core %.6f core_gflops %.2f\n", fwd, proj,
                     fwd - proj, core_flops / (fwd - proj) / 1e9);
    }
    return 0;
}
CPP
c++ -std=c++20 -O2 -I"$root/include" "$tmp/driver.cpp" "$build/librpbcore.a" -lfmt -lpthread \
    -o "$tmp/rpb_bench_attn"
driver=$tmp/rpb_bench_attn
# rpbtool's whole-process time is taken by this small timer process (see bench_timer.c).
cc -O2 -o "$tmp/bench_timer" "$root/scripts/bench_timer.c"
export BENCH_TIMER=$tmp/bench_timer
rpbtool=("${RPBTOOL:-$build/rpbtool}")
[[ -x ${rpbtool[0]} ]] || die "no rpbtool at ${rpbtool[0]} (build it, or set RPBTOOL)"
"${rpbtool[@]}" attn --type t5 --qlen 8 --embed-dim 8 --heads 2 --format npy -o /dev/null ||
    die "${rpbtool[*]} attn does not run"

# rpbtool's kernel paths: the default one, and every one this CPU supports.
best_path=$(env -u RPB_KERNEL_PATH "${rpbtool[@]}" --version | sed -n 's/.*kernel path: \([a-z0-9]*\).*/\1/p')
[[ -n $best_path ]] || die "${rpbtool[*]} --version names no kernel path"
paths=()
for p in avx512 avx2 scalar; do
    RPB_KERNEL_PATH=$p "${rpbtool[@]}" --version >/dev/null 2>&1 && paths+=("$p")
done
unset RPB_KERNEL_PATH
# The peer's BLAS kernel: OpenBLAS's own choice, or a fair one when that is below what the CPU
# runs (Prescott, its fallback for CPUs it does not know, or any AVX2 kernel on an AVX-512 CPU).
# Some machines set OPENBLAS_CORETYPE (an AVX2 kernel on AVX-512 CPUs) and OPENBLAS_L2_SIZE for
# every process: the peer runs without both, so that the choice is OpenBLAS's or this one.
unset OPENBLAS_L2_SIZE
own_core=$(env -u OPENBLAS_CORETYPE OPENBLAS_VERBOSE=2 "$python" -c 'import torch' 2>&1 | awk '/Core:/ {print $2; exit}')
if [[ -n ${PEER_CORETYPE+set} ]]; then
    peer_core=$PEER_CORETYPE
elif grep -qw avx512f /proc/cpuinfo; then
    case $own_core in SkylakeX | Cooperlake | SapphireRapids) peer_core="" ;; *) peer_core=SkylakeX ;; esac
elif grep -qw avx2 /proc/cpuinfo && [[ $own_core == Prescott || -z $own_core ]]; then
    peer_core=Haswell
else
    peer_core=""
fi
if [[ -n $peer_core ]]; then
    export OPENBLAS_CORETYPE=$peer_core # the peer's process only: run_rpbtool drops it
    peer_blas="OpenBLAS kernel $peer_core (OPENBLAS_CORETYPE=$peer_core; by itself OpenBLAS picks ${own_core:-?} here)"
else
    unset OPENBLAS_CORETYPE
    peer_blas="OpenBLAS kernel ${own_core:-?} (its own choice)"
fi
echo "bench_attn: rpbtool kernel path $best_path (paths: ${paths[*]}); peer: $peer_blas" >&2
rpb_env="" # NAME=VALUE words for rpbtool's runs (BENCH_RPBTOOL_ENV)

# median of the numbers on standard input
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# core_gflops RUNS ARGS...: median attention-core GFLOP/s of RUNS driver runs with --timing
core_gflops() {
    local runs=$1
    shift
    for ((r = 0; r < runs; ++r)); do
        env $rpb_env "$driver" attn "$@" --timing -o /dev/null 2>&1 >/dev/null | awk '{print $NF}'
    done | median
}

# make_input FILE B N E: a standard-normal float32 (B, N, E) input, made once and not timed
# (the peer's input is made before its timer starts too); rpbtool reads it as a whole
# process does: start-up, reading input, writing output.
make_input() {
    "$python" -c "import sys, numpy as np
np.save(sys.argv[1], np.random.default_rng(0).standard_normal(
    (int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])), dtype=np.float32))" "$@"
}

# tool_args INPUT ARGS...: the rpbtool options for ARGS with --input INPUT instead of the
# random input's --batch.
tool_args() {
    local input=$1 skip=0 a
    shift
    for a in "$@"; do
        if ((skip)); then skip=0; continue; fi
        if [[ $a == --batch ]]; then skip=1; continue; fi
        printf '%s\n' "$a"
    done
    printf '%s\n' --input "$input"
}

rows=()
spreads=()
# bench NAME REPS INPUT PEER_ARGS -- RPBTOOL_ARGS
bench() {
    local name=$1 reps=$2 input=$3
    shift 3
    local peer_args=()
    while [[ $1 != -- ]]; do peer_args+=("$1"); shift; done
    shift
    local args=()
    mapfile -t args < <(tool_args "$input" "$@")
    echo "bench_attn: $name, $reps alternating reps${rpb_env:+ ($rpb_env)}" >&2
    BENCH_RPBTOOL_ENV=$rpb_env "$python" "$root/scripts/bench_attn_peer.py" "${peer_args[@]}" --reps "$reps" \
        --rpbtool "${rpbtool[@]}" attn "${args[@]}" --format npy -o /dev/null >"$tmp/run.tsv"
    local rpb_t peer_t rpb_rss peer_rss sgemm core
    rpb_t=$(awk '$1 == "rpbtool" {print $2}' "$tmp/run.tsv" | median)
    rpb_rss=$(awk '$1 == "rpbtool" {print $3}' "$tmp/run.tsv" | sort -g | tail -1)
    peer_t=$(awk '$1 == "peer" {print $2}' "$tmp/run.tsv" | median)
    peer_rss=$(awk '$1 == "peer_rss" {print $2}' "$tmp/run.tsv")
    sgemm=$(awk '$1 == "sgemm" {print $2}' "$tmp/run.tsv" | median)
    core=$(core_gflops 3 "$@")
    rows+=("$(awk -v n="$name" -v t="$rpb_t" -v r="$rpb_rss" -v p="$peer_t" -v pr="$peer_rss" \
        -v s="$sgemm" -v c="$core" 'BEGIN {
        # The core time is a difference of timings: at or below their noise it says nothing.
        core = c > 0 ? sprintf("%.0f GFLOP/s (%.0f%%)", c, 100 * c / s) : "below the timing noise"
        printf "| %s | %.3f s, %.0f MB | %.3f s, %.0f MB | %.1fx | %.0f GFLOP/s | %s |",
            n, t, r / 1024, p, pr / 1024, p / t, s, core }')")
    spreads+=("$(awk -v n="$name" '$1 == "rpbtool" || $1 == "peer" {
            if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2
            if ($2 > hi[$1]) hi[$1] = $2 }
        END { printf "%s: rpbtool %.3f-%.3f s, peer %.3f-%.3f s", n, lo["rpbtool"], hi["rpbtool"],
            lo["peer"], hi["peer"] }' "$tmp/run.tsv")")
}

make_input "$tmp/x4096.npy" 1 4096 768
make_input "$tmp/x2048.npy" 1 2048 768
make_input "$tmp/xswin.npy" 256 49 96
make_input "$tmp/x16384.npy" 1 16384 768
bench "T5, N=4096, E=768, 12 heads, scale 1" "$reps" "$tmp/x4096.npy" --case t5 --qlen 4096 --embed-dim 768 \
    --heads 12 --scale 1 -- --type t5 --qlen 4096 --embed-dim 768 --heads 12 --scale 1
bench "T5, N=2048, E=768, 12 heads, scale 1" "$reps" "$tmp/x2048.npy" --case t5 --qlen 2048 --embed-dim 768 \
    --heads 12 --scale 1 -- --type t5 --qlen 2048 --embed-dim 768 --heads 12 --scale 1
bench "Swin, 256 windows of 7x7, E=96, 3 heads" "$swin_reps" "$tmp/xswin.npy" --case swin --window 7x7 --batch 256 \
    --embed-dim 96 --heads 3 -- --type 2d --window 7x7 --batch 256 --embed-dim 96 --heads 3

# N=16384: rpbtool alone (the peer would materialise 12 x 16384^2 floats several times over).
big=(--type t5 --qlen 16384 --embed-dim 768 --heads 12 --scale 1)
: >"$tmp/big_t"
: >"$tmp/big_rss"
for ((r = 0; r < 3; ++r)); do
    echo "bench_attn: N=16384 rpbtool alone, rep $((r + 1))/3" >&2
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$tmp/time.txt" "${rpbtool[@]}" attn "${big[@]}" \
        --input "$tmp/x16384.npy" --format npy -o /dev/null
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN {print e - s}' >>"$tmp/big_t"
    awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time.txt" >>"$tmp/big_rss"
done
big_t=$(median <"$tmp/big_t")
big_rss=$(sort -g "$tmp/big_rss" | tail -1)
big_core=$(core_gflops 1 "${big[@]}")
rows+=("$(awk -v t="$big_t" -v r="$big_rss" -v c="$big_core" 'BEGIN {
    printf "| T5, N=16384, E=768, 12 heads, scale 1 | %.2f s, %.0f MB | not run | | | %.0f GFLOP/s |", t, r / 1024, c }')")

# Every kernel path on the two jobs of the issue's goals, each against the peer again; the
# default path's rows are those of the main table (rows 0 and 2).
path_reps=${PATH_REPS:-3}
swin_path_reps=${SWIN_PATH_REPS:-11}
relabel() { sed "s/^| \([^|]*\) |/| \1 | $1 |/"; }
path_rows=()
for p in "${paths[@]}"; do
    if [[ $p == "$best_path" ]]; then
        path_rows+=("$(relabel "$p" <<<"${rows[0]}")" "$(relabel "$p" <<<"${rows[2]}")")
        continue
    fi
    rpb_env="RPB_KERNEL_PATH=$p"
    bench "T5, N=4096, E=768, 12 heads, scale 1" "$path_reps" "$tmp/x4096.npy" --case t5 --qlen 4096 \
        --embed-dim 768 --heads 12 --scale 1 -- --type t5 --qlen 4096 --embed-dim 768 --heads 12 --scale 1
    path_rows+=("$(relabel "$p" <<<"${rows[-1]}")")
    unset 'rows[-1]'
    bench "Swin, 256 windows of 7x7, E=96, 3 heads" "$swin_path_reps" "$tmp/xswin.npy" --case swin \
        --window 7x7 --batch 256 --embed-dim 96 --heads 3 -- --type 2d --window 7x7 --batch 256 \
        --embed-dim 96 --heads 3
    path_rows+=("$(relabel "$p" <<<"${rows[-1]}")")
    unset 'rows[-1]'
    rpb_env=""
done

# OPENBLAS_CORETYPE=Prescott must not slow rpbtool (it links no BLAS): alternating whole-process
# runs with and without it, default path.
# The Swin job's whole process takes ~20 ms and its times spread over 3x: more repetitions
# for a median that says whether the variable matters.
prescott_reps=${PRESCOTT_REPS:-5}
prescott_swin_reps=${PRESCOTT_SWIN_REPS:-31}
prescott_rows=()
# prescott_check NAME REPS RPBTOOL_ARGS...
prescott_check() {
    local name=$1 prescott_reps=$2 r
    shift 2
    : >"$tmp/plain_t"
    : >"$tmp/prescott_t"
    echo "bench_attn: $name with and without OPENBLAS_CORETYPE=Prescott, $prescott_reps reps" >&2
    for ((r = 0; r < prescott_reps; ++r)); do
        env -u OPENBLAS_CORETYPE "$BENCH_TIMER" "$tmp/elapsed" "${rpbtool[@]}" attn "$@" \
            --format npy -o /dev/null && cat "$tmp/elapsed" >>"$tmp/plain_t"
        OPENBLAS_CORETYPE=Prescott "$BENCH_TIMER" "$tmp/elapsed" "${rpbtool[@]}" attn "$@" \
            --format npy -o /dev/null && cat "$tmp/elapsed" >>"$tmp/prescott_t"
    done
    prescott_rows+=("$(awk -v n="$name" -v a="$(median <"$tmp/plain_t")" -v b="$(median <"$tmp/prescott_t")" \
        'BEGIN { printf "| %s | %.3f s | %.3f s | %+.1f%% |", n, a, b, 100 * (b - a) / a }')")
}
prescott_check "T5, N=4096, E=768, 12 heads, scale 1" "$prescott_reps" --type t5 --qlen 4096 --embed-dim 768 \
    --heads 12 --scale 1 --input "$tmp/x4096.npy"
prescott_check "Swin, 256 windows of 7x7, E=96, 3 heads" "$prescott_swin_reps" --type 2d --window 7x7 --embed-dim 96 \
    --heads 3 --input "$tmp/xswin.npy"

model=$(lscpu | awk -F': *' '/^Model name/ {print $2; exit}')
cpus=$(nproc)
load=$(cut -d' ' -f1-3 /proc/loadavg)
torch_version=$("$python" -c 'import torch; print(torch.__version__)')
tool_name="\`${rpbtool[0]#"$root/"}\`"
{
    echo "# rpbtool attn benchmark"
    echo
    echo "Produced by \`scripts/bench_attn.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $model,"
    echo "$cpus cores (load average at the end: $load); PyTorch $torch_version with"
    echo "\`torch.set_num_threads(2)\`; $reps alternating repetitions per job ($swin_reps for Swin), medians."
    echo "Timed tool:"
    echo "$tool_name, kernel path $best_path (the best of ${paths[*]} on this CPU; it links no BLAS)."
    echo "Peer: $peer_blas."
    echo
    echo "| job | rpbtool (whole process), max RSS | peer (in-process), max RSS | speed-up | sgemm 2048 (torch.mm) | attention core |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Per kernel path (\`RPB_KERNEL_PATH=...\`), each in its own alternating run against the peer"
    echo "($path_reps repetitions for T5, $swin_path_reps for Swin; the $best_path rows are the main table's):"
    echo
    echo "| job | rpbtool kernel path | rpbtool (whole process), max RSS | peer (in-process), max RSS | speed-up | sgemm 2048 (torch.mm) | attention core |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "${path_rows[@]}"
    echo
    echo "rpbtool with and without \`OPENBLAS_CORETYPE=Prescott\` (path $best_path, $prescott_reps alternating"
    echo "whole-process runs for T5, $prescott_swin_reps for Swin, medians): rpbtool links no BLAS, so the"
    echo "variable changes nothing."
    echo
    echo "| job | without | with OPENBLAS_CORETYPE=Prescott | change |"
    echo "|---|---|---|---|"
    printf '%s\n' "${prescott_rows[@]}"
    echo
    echo "Spread of the repetitions (fastest-slowest). The Swin peer's time is bimodal on this"
    echo "kind of machine (0.02-0.04 s or about 0.1 s per forward), so that ratio moves more from"
    echo "run to run than the others:"
    echo
    printf -- '- %s\n' "${spreads[@]}"
    echo
    echo "- rpbtool: \`attn --type t5 --qlen N --embed-dim 768 --heads 12 --scale 1 --format npy"
    echo "  --input x.npy -o /dev/null\` (Swin: \`--type 2d --window 7x7 --embed-dim 96 --heads 3\` on a"
    echo "  (256, 49, 96) input), weights from seed 0; the float32 input is made by numpy before the"
    echo "  run, as the peer's is; timed from spawn to exit (start-up, reading the input, writing"
    echo "  the output); max RSS from a second, untimed run under /usr/bin/time -v."
    echo "- Peer: qkv linear, bias as the published models build it (HF T5: bucket map over all"
    echo "  pairs in float32, embedding gather, permute to (1, H, q, k); Swin: table gather through"
    echo "  the precomputed index, permute), \`softmax(scale * q @ k^T + bias) @ v\` with the bias"
    echo "  and logits materialised, output linear; in-process after import and a warm-up. Its"
    echo "  max RSS is that of its whole process, the PyTorch import included."
    echo "- Attention core: 4 B H N^2 d flops (Q K^T and P V) over the fused kernel's time: the"
    echo "  best of three in-process \`attention_forward\` calls minus the qkv and output"
    echo "  projections timed alone as gemm calls of the same shapes, so packing, bias, softmax and"
    echo "  threading overheads count against it; set against the sgemm rate of the same run. For"
    echo "  the small Swin windows that overhead dominates the 0.24 GFLOP of core work, and the"
    echo "  grouped Swin path computes its projections with its own kernel group by group, so there"
    echo "  the figure is only indicative. The peer is not run at N=16384 (it would materialise"
    echo "  12 x 16384^2 floats several times over)."
} >"$out_md"
cat "$out_md"
