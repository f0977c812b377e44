#!/usr/bin/env bash
# Training and evaluation throughput of `rpbtool train` / `rpbtool eval` against PyTorch
# training the same ViT (math.md 6: E=64, 6 blocks, 4 heads, patch 4, rpb-2d, cls) on the same
# batch size in-process (scripts/bench_train_peer.py), by the project's benchmark rules (the
# points below).
# Writes docs/benchmarks-train.md.
#
#   scripts/bench_train.sh                 REPS=3 STEPS=60 EVAL_IMAGES=10000 BUILD=build
#
# - rpbtool is timed as a whole process: start-up, reading and decompressing the data set,
#   STEPS AdamW steps of batch 128 (clipping at 1.0, as the peer), writing the run folder;
#   no test evaluation (--test off). Images/s = STEPS * 128 / wall time.
#   Evaluation: `rpbtool eval` of the 10,000 test images, whole process.
# - The peer is timed in-process after import and data loading: the median step of STEPS
#   steps after 2 untimed ones, and torch.no_grad() evaluation (batch 500).
# - They alternate, REPS times; medians and ratios. Peak memory: /usr/bin/time's max RSS for
#   rpbtool, ru_maxrss for the peer's process (torch included).
# - Fair BLAS: the peer starts without the OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE it may
#   inherit (some machines set them for every process, to an AVX2 kernel on AVX-512 CPUs),
#   and restarts itself with OPENBLAS_CORETYPE=SkylakeX (Haswell without AVX-512) when
#   OpenBLAS's own choice is below what the CPU runs; PEER_CORETYPE=NAME forces a kernel.
#   The report says what it ran with.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
reps=${REPS:-3}
steps=${STEPS:-60}
eval_images=${EVAL_IMAGES:-10000}
out_md=${OUT:-$root/docs/benchmarks-train.md}
data=${DATA:-/usr/share/datasets/fashion-mnist}
python=/usr/bin/python3
rpbtool=${RPBTOOL:-$build/rpbtool}

[[ -x $rpbtool ]] || { echo "bench_train: no $rpbtool (build first)" >&2; exit 1; }
# The peer (PyTorch on OpenBLAS) and /usr/bin/time, which measures both sides' peak memory.
"$root/scripts/install_packages.sh" bench_train python3-torch python3-numpy libopenblas0-pthread time
[[ -d $data ]] || { echo "bench_train: no data set in $data (scripts/setup.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# run_timed FILE CMD...: wall seconds and max RSS (KB) of CMD into FILE as "seconds kb"
run_timed() {
    local file=$1
    shift
    /usr/bin/time -f "%e %M" -o "$file" "$@" >/dev/null 2>"$tmp/stderr" || {
        cat "$tmp/stderr" >&2
        exit 1
    }
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
arch=(--pos rpb-2d --pool cls --patch 4 --embed-dim 64 --depth 6 --heads 4 --mlp-dim 128)
"$rpbtool" train --data "$data" "${arch[@]}" --steps 0 -o "$tmp/model" -q
model=$tmp/model/model.safetensors

for r in $(seq 1 "$reps"); do
    rm -rf "$tmp/run"
    run_timed "$tmp/t" "$rpbtool" train --data "$data" "${arch[@]}" --batch-size 128 \
        --steps "$steps" --clip-grad 1.0 --test off -o "$tmp/run" -q
    read -r sec kb <"$tmp/t"
    awk -v s="$sec" -v n="$steps" 'BEGIN { printf "%.1f\n", n * 128 / s }' >>"$tmp/rpb_train_ips"
    echo "$kb" >>"$tmp/rpb_train_rss"
    run_timed "$tmp/e" "$rpbtool" eval --model "$model" --data "$data" -o /dev/null
    read -r sec kb <"$tmp/e"
    awk -v s="$sec" 'BEGIN { printf "%.1f\n", 10000 / s }' >>"$tmp/rpb_eval_ips"
    echo "$kb" >>"$tmp/rpb_eval_rss"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${PEER_CORETYPE:+OPENBLAS_CORETYPE=$PEER_CORETYPE} \
        "$python" "$root/scripts/bench_train_peer.py" --data "$data" --mode both --steps "$steps" \
        --eval-images "$eval_images" --eval-batch 500 >"$tmp/peer.json"
    "$python" -c "
import json, sys
r = json.load(open('$tmp/peer.json'))
print('%.1f %.1f %d' % (r['train']['images_per_second'], r['eval']['images_per_second'], r['max_rss_kb']))
b = r['blas']
print('OPENBLAS_CORETYPE=%s (set by the peer: %s), OpenBLAS core %s' % (b['OPENBLAS_CORETYPE'], b['coretype_set_by_peer'], b['openblas_core']), file=open('$tmp/peer_blas', 'w'))
" >>"$tmp/peer_rows"
    echo "bench_train: rep $r: rpbtool train $(tail -1 "$tmp/rpb_train_ips") img/s, eval $(tail -1 "$tmp/rpb_eval_ips") img/s; peer $(tail -1 "$tmp/peer_rows")" >&2
done

rt=$(median <"$tmp/rpb_train_ips")
re=$(median <"$tmp/rpb_eval_ips")
pt=$(cut -d' ' -f1 "$tmp/peer_rows" | median)
pe=$(cut -d' ' -f2 "$tmp/peer_rows" | median)
prss=$(cut -d' ' -f3 "$tmp/peer_rows" | median)
rtrss=$(median <"$tmp/rpb_train_rss")
rerss=$(median <"$tmp/rpb_eval_rss")
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
path=$("$rpbtool" --version | sed -n 's/.*kernel path: \([a-z0-9]*\).*/\1/p')
{
    echo "# Training and evaluation throughput"
    echo
    echo "Made by \`scripts/bench_train.sh\` (REPS=$reps, STEPS=$steps) on $(date -u +%Y-%m-%d), $cpu,"
    echo "$(nproc) cores (load average at the start: $load_start, at the end: $(cut -d' ' -f1-3 /proc/loadavg));"
    echo "rpbtool kernel path $path. The ViT of math.md 6 (E=64, 6 blocks, 4 heads,"
    echo "patch 4, rpb-2d, cls token, 28x28 Fashion-MNIST), AdamW, batch 128, clipping 1.0."
    echo "rpbtool: whole process (start-up, data loading, run folder); the peer (PyTorch"
    echo "$("$python" -c 'import torch; print(torch.__version__)'), 2 threads): in-process after import, median step. Peer BLAS:"
    echo "$(cat "$tmp/peer_blas")."
    echo
    echo "| job | rpbtool | PyTorch | ratio | rpbtool max RSS | PyTorch max RSS |"
    echo "|---|---|---|---|---|---|"
    awk -v a="$rt" -v b="$pt" -v m="$rtrss" -v p="$prss" 'BEGIN { printf "| training (img/s) | %.0f | %.0f | %.2fx | %.0f MB | %.0f MB |\n", a, b, a / b, m / 1024, p / 1024 }'
    awk -v a="$re" -v b="$pe" -v m="$rerss" -v p="$prss" 'BEGIN { printf "| evaluation (img/s) | %.0f | %.0f | %.2fx | %.0f MB | %.0f MB |\n", a, b, a / b, m / 1024, p / 1024 }'
    echo
    echo "Every repetition, in order: rpbtool training $(paste -sd' ' "$tmp/rpb_train_ips") img/s,"
    echo "evaluation $(paste -sd' ' "$tmp/rpb_eval_ips") img/s; PyTorch training"
    echo "$(cut -d' ' -f1 "$tmp/peer_rows" | paste -sd' ') img/s, evaluation $(cut -d' ' -f2 "$tmp/peer_rows" | paste -sd' ') img/s."
    echo "The peer's RSS is one number for its whole process (training and evaluation)."
} >"$out_md"
cat "$out_md"
