#!/usr/bin/env bash
# Single-core GFLOP/s of rpb::gemm on each kernel path against OpenBLAS's sgemm (one thread),
# with the kernel OpenBLAS picks itself and with OPENBLAS_CORETYPE forced (SkylakeX, Haswell):
# the shapes of the ViT's training (batch 128 x 50 tokens, E=64), of one attention head, and
# attention N=4096, E=768. Writes the Markdown table to docs/benchmarks-gemm.md (OUT=...).
#   scripts/bench_gemm.sh            (BUILD=build, REPS=5: best of REPS timed runs per cell)
# The rate is over the thread's CPU time, so that a shared machine's descheduling does not
# count; cache and memory contention from other processes still does (compare columns of
# one run, not runs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
reps=${REPS:-5}
out_md=${OUT:-$root/docs/benchmarks-gemm.md}
[[ -f $build/librpbcore.a ]] || { echo "bench_gemm: no $build/librpbcore.a" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/bench.cpp" <<'CPP'
// bench_gemm driver: best-of-REPS GFLOP/s of one product, by rpb::gemm or cblas_sgemm.
#include "rpb/gemm.hpp"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 9) {
        std::fprintf(stderr, "usage: bench rpb|blas TA TB M N K BETA REPS\n");
        return 2;
    }
    const bool blas = std::string(argv[1]) == "blas";
    const bool ta = argv[2][0] == 'T';
    const bool tb = argv[3][0] == 'T';
    const int64_t m = std::atoll(argv[4]), n = std::atoll(argv[5]), k = std::atoll(argv[6]);
    const float beta = std::strtof(argv[7], nullptr);
    const int reps = std::atoi(argv[8]);
    std::vector<float> a(static_cast<size_t>(m * k), 0.5f), b(static_cast<size_t>(k * n), 0.25f),
        c(static_cast<size_t>(m * n), 0.0f);
    for (size_t i = 0; i < a.size(); ++i) a[i] = float(i % 7) * 0.1f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = float(i % 5) * 0.1f;
    const int64_t lda = ta ? m : k, ldb = tb ? k : n;
    // Small products are timed in batches of about 2 GFLOP (20 ms at 100 GFLOP/s).
    const double flops = 2.0 * double(m) * double(n) * double(k);
    const int64_t calls = std::max<int64_t>(1, int64_t(2e9 / flops));
    auto run = [&] {
        for (int64_t i = 0; i < calls; ++i) {
            if (blas) {
                cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                            int(m), int(n), int(k), 1.0f, a.data(), int(lda), b.data(), int(ldb), beta,
                            c.data(), int(n));
            } else {
                rpb::gemm({.trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k}, a.data(), lda,
                          b.data(), ldb, beta, c.data(), n);
            }
        }
    };
    run();
    // Thread CPU time, not wall time: on a shared machine the process is descheduled for
    // long stretches, and what is measured here is the rate of one core while it computes.
    auto cpu_now = [] {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
    };
    double best = 1e30;
    for (int r = 0; r < reps; ++r) {
        const double t0 = cpu_now();
        run();
        best = std::min(best, cpu_now() - t0);
    }
    std::printf("%.1f\n", flops * double(calls) / best / 1e9);
    return 0;
}
CPP
# OpenBLAS is the peer here only; rpbtool itself links no BLAS.
"$root/scripts/install_packages.sh" bench_gemm libopenblas-dev
c++ -std=c++20 -O2 -I"$root/include" $(pkg-config --cflags openblas) "$tmp/bench.cpp" \
    "$build/librpbcore.a" $(pkg-config --libs openblas) -lfmt -lpthread -o "$tmp/bench"
export OPENBLAS_NUM_THREADS=1
paths=$(for p in scalar avx2 avx512; do RPB_KERNEL_PATH=$p "$build/rpbtool" --version >/dev/null 2>&1 && echo $p; done)
blas_core=$(OPENBLAS_VERBOSE=2 "$tmp/bench" blas N N 8 8 8 0 1 2>&1 | awk '/Core:/ {print $2}')

shapes=(
    "N T 6400 192 64 0|ViT qkv x@W^T (6400x64)@(64x192)^T"
    "N T 6400 128 64 0|ViT mlp1 (6400x64)@(64x128)^T"
    "N T 6400 64 128 0|ViT mlp2 (6400x128)@(128x64)^T"
    "N N 6400 64 192 0|ViT dX = dY@W (6400x192)@(192x64)"
    "T N 192 64 6400 1|ViT dW += dY^T@X (192x6400)@(6400x64)"
    "N T 50 50 16 0|head q@k^T (50x16)@(16x50)^T"
    "N N 50 16 50 0|head p@v (50x50)@(50x16)"
    "N T 4096 2304 768 0|attention qkv (4096x768)@(768x2304)^T"
    "N N 2048 2048 2048 0|square 2048"
)
header="| shape |"
sep="|---|"
for p in $paths; do header+=" rpb $p |"; sep+="---|"; done
header+=" OpenBLAS ($blas_core) | OpenBLAS SkylakeX | OpenBLAS Haswell |"
sep+="---|---|---|"
{
echo "# rpb::gemm benchmark"
echo
echo "Produced by \`scripts/bench_gemm.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); CPU: $(lscpu | awk -F': *' '/^Model name/ {print $2; exit}'),"
echo "$(nproc) cores (load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)). Single-thread GFLOP/s over thread CPU"
echo "time, best of $reps timings of about 2 GFLOP each, columns measured one after the other per row."
echo "rpb: \`rpb::gemm\` on each kernel path (\`RPB_KERNEL_PATH\`); OpenBLAS"
echo "$(dpkg-query -W -f='${Version}' libopenblas0-pthread 2>/dev/null || echo '?') \`cblas_sgemm\` with one thread, on the kernel it picks"
echo "itself ($blas_core) and forced with \`OPENBLAS_CORETYPE\`."
echo
echo "$header"
echo "$sep"
for s in "${shapes[@]}"; do
    read -r ta tb m n k beta <<<"${s%%|*}"
    row="| ${s#*|} |"
    for p in $paths; do
        row+=" $(RPB_KERNEL_PATH=$p "$tmp/bench" rpb "$ta" "$tb" "$m" "$n" "$k" "$beta" "$reps") |"
    done
    row+=" $("$tmp/bench" blas "$ta" "$tb" "$m" "$n" "$k" "$beta" "$reps") |"
    for core in SkylakeX Haswell; do
        row+=" $(OPENBLAS_CORETYPE=$core "$tmp/bench" blas "$ta" "$tb" "$m" "$n" "$k" "$beta" "$reps") |"
    done
    echo "$row"
done
} | tee "$out_md"
