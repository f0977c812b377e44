#!/usr/bin/env bash
# Sets rpbtool up on a Debian 12 machine: installs the Debian packages that are missing,
# then configures and builds a Release build into build/.
#   scripts/setup.sh            install what is missing + build
#   BUILD_DIR=... scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# No BLAS: rpbtool's products run on its own kernels (the benchmark scripts install
# OpenBLAS and PyTorch for the peers they compare with).
# zlib1g-dev: gzip for IDX files (libz.a for the static link); dataset-fashion-mnist: the
# data set `rpbtool train` is tried on, and that the IDX tests load when present.
# help2man: the man page rpbtool(1), made from the help texts at build time.
# fonts-dejavu-core: DejaVu Sans, compiled into rpbtool for the figures' text (no font file at
# run time). libxml2-utils: xmllint, with which the CLI tests parse the SVG figures.
packages=(cmake g++ ninja-build pkg-config libcli11-dev libfmt-dev nlohmann-json3-dev
    libstb-dev doctest-dev clang libclang-rt-14-dev clang-format zlib1g-dev
    dataset-fashion-mnist help2man fonts-dejavu-core libxml2-utils)

scripts/install_packages.sh setup "${packages[@]}"

build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
echo "setup: built $build_dir/rpbtool" >&2
