#!/usr/bin/env bash
# A markdown table of training runs, read from their run folders only (run.json and
# metrics.csv): what each run changed from the recipe (samples/vit_fashion_mnist.toml), how far
# it got, its test accuracy at the end and at its best, its train accuracy (under augmentation)
# and its training time (metrics.csv's seconds: the training and per-epoch evaluation, not the
# process start). The README's recorded runs quote it.
#
#   scripts/summarize_runs.sh                     every folder of runs/ with a metrics.csv
#   scripts/summarize_runs.sh runs/recipe60 runs/wd02-60
#
# Times depend on the machine and on what else ran beside a run. The accuracies do not depend on
# the thread count (same seed, same bytes on one machine), but can on the CPU: the recipe ended
# at 92.58% on an Intel Xeon and at 92.53% on an AMD EPYC.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
recipe=${RECIPE:-$root/samples/vit_fashion_mnist.toml}

if (($# == 0)); then
    set --
    for m in "$root"/runs/*/metrics.csv; do
        [[ -f $m ]] && set -- "$@" "$(dirname "$m")"
    done
    (($# > 0)) || { echo "summarize_runs: no run folder with a metrics.csv under runs/" >&2; exit 1; }
fi

# The recipe's values, as run.json keys ("model." for the architecture).
declare -A want
while IFS='=' read -r key value; do
    key=$(echo "$key" | tr -d ' ')
    value=$(echo "$value" | sed 's/^ *//; s/ *$//; s/^"//; s/"$//')
    case $key in
    pos | pool) want[model.$key]=$value ;;
    patch) want[model.patch_size]=$value ;;
    embed-dim) want[model.embed_dim]=$value ;;
    depth) want[model.depth]=$value ;;
    heads) want[model.num_heads]=$value ;;
    mlp-dim) want[model.mlp_dim]=$value ;;
    augment)
        want[crop]=false want[flip]=false want[erase]=0
        [[ $value == *crop* ]] && want[crop]=true
        [[ $value == *flip* ]] && want[flip]=true
        ;;
    shuffle) [[ $value == on ]] && want[shuffle]=true || want[shuffle]=false ;;
    epochs | optimizer | lr | seed) want[$key]=$value ;;
    batch-size | min-lr | weight-decay | label-smoothing) want[${key//-/_}]=$value ;;
    esac
done < <(sed -n '/^\[train\]/,/^\[/p' "$recipe" | grep -E '^[a-z-]+ *=')

# The option a run.json key comes from, to name a change the way a user would type it.
declare -A option=([model.pos]=--pos [model.pool]=--pool [model.patch_size]=--patch
    [model.embed_dim]=--embed-dim [model.depth]=--depth [model.num_heads]=--heads
    [model.mlp_dim]=--mlp-dim [epochs]=--epochs [optimizer]=--optimizer [lr]=--lr [seed]=--seed
    [batch_size]=--batch-size [min_lr]=--min-lr [weight_decay]=--weight-decay
    [label_smoothing]=--label-smoothing [shuffle]=--shuffle [erase]=--erase-prob)

# A value of run.json: top-level keys are indented by 2 spaces, the model's by 4.
json_value() {
    local file=$1 key=$2 indent='  '
    if [[ $key == model.* ]]; then
        key=${key#model.}
        indent='    '
    fi
    sed -n "s/^$indent\"$key\": \\(.*\\)$/\\1/p" "$file" | head -1 | sed 's/,$//; s/^"//; s/"$//'
}

same() { # numbers compare as numbers (1e-05 = 1e-5), everything else as text
    if [[ $1 =~ ^-?[0-9.e+-]+$ && $2 =~ ^-?[0-9.e+-]+$ ]]; then
        awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 == b + 0) }'
    else
        [[ $1 == "$2" ]]
    fi
}

for dir in "$@"; do
    if [[ ! -f ${dir%/}/run.json || ! -f ${dir%/}/metrics.csv ]]; then
        echo "summarize_runs: $dir: not a run folder (no run.json and metrics.csv there)" >&2
        exit 1
    fi
done

echo "| run | differs from the recipe | epochs | test accuracy | best (epoch) | train accuracy | training time |"
echo "|---|---|---|---|---|---|---|"
for dir in "$@"; do
    dir=${dir%/}
    json=$dir/run.json metrics=$dir/metrics.csv
    changes=()
    for key in "${!want[@]}"; do
        have=$(json_value "$json" "$key")
        [[ $key == erase && -z $have ]] && have=0 # run folders from before random erasing
        same "$have" "${want[$key]}" && continue
        case $key in
        crop | flip) changes+=("$key off") ;;
        erase) changes+=("erase (--erase-prob $have)") ;;
        *) changes+=("${option[$key]} $have") ;;
        esac
    done
    # Warm-up: the default is 5% of the steps (epochs x the batches of epoch 1).
    warmup=$(json_value "$json" warmup)
    epochs=$(json_value "$json" epochs)
    per_epoch=$(awk -F, 'NR == 2 { print $2 }' "$metrics")
    if [[ -n $per_epoch ]] && ((warmup != epochs * per_epoch / 20)); then
        changes+=("--warmup $warmup")
    fi
    summary=$(IFS=$'\n'; echo "${changes[*]:-}" | sort | paste -sd, - | sed 's/,/, /g')
    awk -F, -v run="$(basename "$dir")" -v changes="${summary:-none (the recipe)}" -v planned="$epochs" '
        NR == 1 { next }
        { if ($6 > best) { best = $6; at = $1 }; last = $0 }
        END {
            if (last == "") { printf "| %s | %s | 0 of %d | - | - | - | - |\n", run, changes, planned; exit }
            split(last, f, ",")
            printf "| %s | %s | %d of %d | %.2f%% | %.2f%% (%d) | %.2f%% | %.1f min |\n",
                run, changes, f[1], planned, 100 * f[6], 100 * best, at, 100 * f[4], f[7] / 60
        }' "$metrics"
done
