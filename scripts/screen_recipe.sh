#!/usr/bin/env bash
# Screening runs for the recipe: a short budget (12 epochs) from samples/vit_fashion_mnist.toml
# with one change each, into runs/screen-<name>/, then a table of their test accuracy on
# standard output. Its runs are the screen-* rows of docs/recipe.md, made while the recipe's
# lr was 0.002: their screen-base is this script's lr2, their screen-lr3 its base.
#
#   scripts/screen_recipe.sh                    all variants, two at a time on one thread each
#   VARIANTS="base mlp256" scripts/screen_recipe.sh
#   EPOCHS=6 RUNS=runs/quick scripts/screen_recipe.sh
#
# Resumable: a finished run is kept, an unfinished one continues with --resume. The results do
# not depend on the thread count or on what else runs (same seed, same bytes); the times do.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rpbtool=${BUILD:-build}/rpbtool
runs=${RUNS:-runs}
epochs=${EPOCHS:-12}
jobs=${JOBS:-2}
[[ -x $rpbtool ]] || scripts/setup.sh

# name: the options that differ from the recipe. Candidates for the recipe change only what
# cli.md leaves to us (epochs, learning rates, warm-up, weight decay, label smoothing); the rest
# (pooling, width, batch size, augmentation) change a default cli.md fixes, so they measure
# what such a change does but cannot become the recipe.
declare -A change=(
    [base]=""
    [lr2]="--lr 0.002"
    [lr4]="--lr 0.004"
    [lr15]="--lr 0.0015"
    [wd02]="--weight-decay 0.02"
    [wd10]="--weight-decay 0.1"
    [ls0]="--label-smoothing 0"
    [ls2]="--label-smoothing 0.2"
    [mean]="--pool mean"
    [mlp256]="--mlp-dim 256"
    [b64]="--batch-size 64"
    [b256]="--batch-size 256"
    [erase]="--augment crop,flip,erase"
)
variants=(${VARIANTS:-base lr2 lr4 mean mlp256 b64 b256})
for v in "${variants[@]}"; do
    [[ -v change[$v] ]] || { echo "screen_recipe: unknown variant '$v' (known: ${!change[*]})" >&2; exit 2; }
done

run_one() {
    local v=$1 dir=$runs/screen-$1
    if [[ -f $dir/run.json ]]; then
        # The recipe and the change again: rpbtool refuses to continue (exit 2, naming the
        # option) a run started from another recipe, rather than report a stale result.
        # shellcheck disable=SC2086  # the change is a list of options
        "$rpbtool" --config samples/vit_fashion_mnist.toml train --epochs "$epochs" ${change[$v]} \
            -o "$dir" --resume --threads 1 -q
    else
        # shellcheck disable=SC2086  # the change is a list of options
        "$rpbtool" --config samples/vit_fashion_mnist.toml train --epochs "$epochs" ${change[$v]} \
            --threads 1 -q -o "$dir"
    fi
}

mkdir -p "$runs"
running=0
for v in "${variants[@]}"; do
    echo "screen_recipe: $v (${change[$v]:-the recipe})" >&2
    run_one "$v" &
    running=$((running + 1))
    if ((running >= jobs)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

echo "| variant | change | epochs | test accuracy | train accuracy |"
echo "|---|---|---|---|---|"
for v in "${variants[@]}"; do
    tail -n 1 "$runs/screen-$v/metrics.csv" | awk -F, -v v="$v" -v c="${change[$v]:-(the recipe)}" \
        '{ printf "| %s | `%s` | %d | %.2f%% | %.2f%% |\n", v, c, $1, 100 * $6, 100 * $4 }'
done
