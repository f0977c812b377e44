#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz and runs each for FUZZ_SECONDS
# (default 60) on a scratch copy of the committed seed corpus. Exits non-zero when a
# target finds a crash; crashing inputs are left in fuzz-out/<target>/ (git-ignored) and
# belong, once fixed, in tests/fuzz/regressions/<format>/.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_BUILD_JOBS:-2}
cxx=${FUZZ_CXX:-clang++}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPB_FUZZ=ON -DRPB_TESTS=OFF >/dev/null
# Only the fuzz targets: rpbtool is not linked against the sanitizer runtimes.
cmake --build "$build" --target fuzz_npy fuzz_safetensors fuzz_idx fuzz_checkpoint -j "$jobs"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# UBSan recovers by default inside rpbcore; make every report fatal so it counts as a crash.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

status=0
for format in npy safetensors idx checkpoint; do
    corpus="$scratch/$format"
    mkdir -p "$corpus" "$root/fuzz-out/$format"
    cp "$root/tests/fuzz/corpus/$format"/* "$corpus"/
    cp "$root/tests/fuzz/regressions/$format"/* "$corpus"/ 2>/dev/null || true
    echo "== fuzz_$format for ${seconds}s"
    if ! "$build/tests/fuzz/fuzz_$format" -max_total_time="$seconds" -max_len=65536 \
            -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$root/fuzz-out/$format/" "$corpus"; then
        echo "fuzz_$format: crash found, see $root/fuzz-out/$format/" >&2
        status=1
    fi
done
exit "$status"
