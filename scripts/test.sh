#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite: unit tests and command-line tests on the
# Release build, the clang-format check, the suite again under AddressSanitizer +
# UndefinedBehaviorSanitizer, and a bounded libFuzzer run of each file parser.
#   FUZZ_SECONDS=60 (per target; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

# Chromium: the headless browser that tests/cli/test_html.sh loads the interactive pages in
# (only the tests need it, so setup.sh, which builds, does not install it).
scripts/install_packages.sh test chromium

echo "== tests (Release)"
ctest --test-dir build --output-on-failure -j "$(nproc)"

echo "== clang-format"
cmake --build build --target check_format

echo "== tests (AddressSanitizer + UndefinedBehaviorSanitizer)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPB_SANITIZE=ON >/dev/null
cmake --build build-asan -j "$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j "$(nproc)"

if [ "${FUZZ_SECONDS:-60}" != 0 ] && [ -x scripts/fuzz.sh ]; then
    echo "== fuzzing"
    scripts/fuzz.sh
fi
echo "== all tests passed"
