#!/usr/bin/env bash
# The same ViT and budget with each position scheme (--pos rpb-2d, rpb-1d, t5, ape, none),
# from samples/vit_fashion_mnist.toml, run by run into runs/exp-<pos>/, then
# docs/experiments.md: test accuracy and training time per scheme, the curves, and the learned
# tables of the rpb-2d run.
#
#   scripts/experiment_positions.sh          all five runs (about an hour each on 2 cores)
#   EPOCHS=5 RUNS=runs/quick scripts/experiment_positions.sh   a shorter budget
#
# Resumable: stop it at any moment (Ctrl-C, kill -9, end of a session) and start it again;
# a finished run is kept, an unfinished one continues with `rpbtool train --resume`, so the
# next session picks up where this one stopped and ends with the same models.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
rpbtool=$build/rpbtool
runs=${RUNS:-runs}
epochs=${EPOCHS:-}
doc=${OUT:-docs/experiments.md}
schemes=(${SCHEMES:-rpb-2d rpb-1d t5 ape none})
[[ -x $rpbtool ]] || scripts/setup.sh
mkdir -p "$runs" docs/experiments

extra=()
[[ -n $epochs ]] && extra+=(--epochs "$epochs")
for pos in "${schemes[@]}"; do
    dir=$runs/exp-$pos
    if [[ -f $dir/run.json ]]; then
        echo "experiment: $pos: continuing $dir" >&2
        # The recipe and options again: rpbtool refuses them (exit 2, naming the option) if the
        # run was started from a different recipe, rather than finishing a stale experiment.
        rc=0
        "$rpbtool" --config samples/vit_fashion_mnist.toml train --pos "$pos" "${extra[@]}" \
            -o "$dir" --resume || rc=$?
        if ((rc == 2)); then
            echo "experiment: $pos: $dir was started differently (above); remove it to run" \
                "this recipe" >&2
            exit 1
        elif ((rc != 0)); then
            exit "$rc"
        fi
    else
        echo "experiment: $pos: starting $dir" >&2
        "$rpbtool" --config samples/vit_fashion_mnist.toml train --pos "$pos" "${extra[@]}" -o "$dir"
    fi
done

# The report, from the run folders only (re-running the script rewrites it the same way), then
# the reading of it, which only a person can write: the part of the old report from the heading
# "## What the numbers show" on is kept as it was.
analysis=$(mktemp)
trap 'rm -f "$analysis" "$analysis.report"' EXIT
if [[ -f $doc ]]; then # a regular file only: never read back /dev/stdout
    sed -n '/^## What the numbers show/,$p' "$doc" >"$analysis"
fi
cpu="$(lscpu | sed -n "s/^Model name: *//p" | head -1) (family $(lscpu | sed -n "s/^CPU family: *//p" | head -1), model $(lscpu | sed -n "s/^Model: *//p" | head -1))"
{
    echo "# Position schemes compared"
    echo
    echo "Made by \`scripts/experiment_positions.sh\` on $(date -u +%Y-%m-%d), $cpu, $(nproc) cores."
    echo "Each run: \`rpbtool --config samples/vit_fashion_mnist.toml train --pos POS${epochs:+ --epochs $epochs}\`"
    echo "(the same seed, data, model size and schedule; only the position scheme differs)."
    echo
    echo "| --pos | epochs | test accuracy (last epoch) | best test accuracy | test loss | training time |"
    echo "|---|---|---|---|---|---|"
    for pos in "${schemes[@]}"; do
        m=$runs/exp-$pos/metrics.csv
        [[ -f $m ]] || continue
        tail -n +2 "$m" | awk -F, -v pos="$pos" '
            { if ($6 > best) best = $6; last = $0; n = $1 }
            END { split(last, f, ","); printf "| %s | %d | %.2f%% | %.2f%% | %.4f | %d min |\n", pos, n, 100 * f[6], 100 * best, f[5], f[7] / 60 }'
    done
    echo
    for pos in "${schemes[@]}"; do
        [[ -f $runs/exp-$pos/curves.png ]] || continue
        cp "$runs/exp-$pos/curves.png" "docs/experiments/curves-$pos.png"
        echo "![$pos curves](experiments/curves-$pos.png)"
    done
    if [[ -f $runs/exp-rpb-2d/model.safetensors ]]; then
        "$rpbtool" visualize --model "$runs/exp-rpb-2d/model.safetensors" -o docs/experiments/tables-rpb-2d.png
        "$rpbtool" visualize --model "$runs/exp-rpb-2d/model.safetensors" --what attn --image 0 \
            -o docs/experiments/attention-rpb-2d.png
        echo
        echo "Learned tables of the rpb-2d run (one row of heads per block, offset dy, dx = query - key):"
        echo
        echo "![rpb-2d tables](experiments/tables-rpb-2d.png)"
        echo
        echo "![rpb-2d attention](experiments/attention-rpb-2d.png)"
    fi
    # What each head prefers, in numbers (docs/cli.md, inspect --structure), for the schemes
    # whose tables are offsets.
    for pos in rpb-2d rpb-1d; do
        model=$runs/exp-$pos/model.safetensors
        [[ -f $model ]] || continue
        echo
        echo "Per-head structure of the $pos run's tables (\`rpbtool inspect --structure\`):"
        echo
        echo '```text'
        "$rpbtool" inspect "$model" --structure | sed -n '/^# per head/,$p'
        echo '```'
    done
    if [[ -s $analysis ]]; then
        echo
        cat "$analysis"
    fi
} >"$analysis.report"
# Whole or not at all; a target that is not a regular file (OUT=/dev/stdout) is written to.
if [[ -e $doc && ! -f $doc ]]; then
    cat "$analysis.report" >"$doc"
    rm -f "$analysis.report"
else
    mv "$analysis.report" "$doc.tmp"
    mv "$doc.tmp" "$doc"
fi
echo "experiment: wrote $doc" >&2
