#!/usr/bin/env bash
# Regenerates the pictures in docs/ that README.md and docs/visualize.md show, with the
# commands the pages name, from the built rpbtool (scripts/setup.sh builds it).
#   scripts/docs_pictures.sh                 build/rpbtool into docs/
#   BUILD_DIR=... scripts/docs_pictures.sh
# docs/swin_t_checkpoint.png needs torchvision's swin_t() (random init, seed 0), written by
# scripts/make_zoo_goldens.py with a Python that has torch and torchvision; without one that
# picture is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."

rpbtool=${BUILD_DIR:-build}/rpbtool
[ -x "$rpbtool" ] || { echo "docs_pictures: $rpbtool not built (run scripts/setup.sh)" >&2; exit 1; }
draw() { # draw NAME ARGS...: docs/NAME.png from `rpbtool visualize ARGS`
    local name=$1
    shift
    "$rpbtool" visualize "$@" -o "docs/$name.png"
    echo "docs_pictures: docs/$name.png" >&2
}

draw t5_buckets --what bucket
draw swin_table --window 7x7 --heads 3
draw t5_bias_4_heads --heads 4
draw t5_bias_distance --heads 8 --view distance

python=${PYTHON:-/usr/bin/python3}
if "$python" -c "import torch, torchvision" 2>/dev/null; then
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$python" scripts/make_zoo_goldens.py --no-write --full-swin-t "$tmp/swin_t.safetensors" >/dev/null
    # Drawn from inside the folder, so that the title names swin_t.safetensors, not a temporary path.
    tool=$(cd "$(dirname "$rpbtool")" && pwd)/rpbtool
    docs=$PWD/docs
    (cd "$tmp" && "$tool" visualize --checkpoint swin_t.safetensors --cell 6 -o "$docs/swin_t_checkpoint.png")
    echo "docs_pictures: docs/swin_t_checkpoint.png" >&2
else
    echo "docs_pictures: no torch/torchvision for $python: docs/swin_t_checkpoint.png kept" >&2
fi
