#!/usr/bin/env bash
# The same ViT and budget with each position scheme (--pos rpb-2d, rpb-1d, t5, ape, none),
# from samples/vit_fashion_mnist.toml, run by run into docs/experiments/runs/<pos>/, then
# docs/experiments.md: test accuracy and training time per scheme, the curves, and the learned
# tables.
#
#   scripts/experiment_positions.sh          all five runs (30-45 minutes each on 2 cores)
#   SCHEMES="t5 ape" scripts/experiment_positions.sh                             some schemes
#   EPOCHS=2 TRAIN_ARGS="--limit-train 5000" RUNS=runs/quick OUT=runs/quick.md \
#       PICTURES=runs/quick-pictures scripts/experiment_positions.sh             a quick check
#
# Resumable: stop it at any moment (Ctrl-C, kill -9, end of a session) and start it again;
# a finished run is kept, an unfinished one continues with `rpbtool train --resume`, so the
# next session picks up where this one stopped and ends with the same models. The run folders
# (a few MB each: model, optimiser state, logs) live in git beside the report, because a
# session's machine may not be the next one's: commit them, finished or not, before a session
# ends, and the next session on any machine continues from there. runs/machines.txt says which
# CPU trained which epochs, since the times depend on it (and the last digits of the accuracies
# can: same seed, same bytes for any thread count on one machine, not across all CPUs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
rpbtool=$build/rpbtool
runs=${RUNS:-docs/experiments/runs}
epochs=${EPOCHS:-}
train_args=(${TRAIN_ARGS:-})
doc=${OUT:-docs/experiments.md}
pictures=${PICTURES:-docs/experiments}
# The runs and pictures as the report links them: relative to the report's folder.
runs_link=$(realpath -m --relative-to="$(dirname "$doc")" "$runs")
pictures_link=$(realpath -m --relative-to="$(dirname "$doc")" "$pictures")
schemes=(${SCHEMES:-rpb-2d rpb-1d t5 ape none})
[[ -x $rpbtool ]] || scripts/setup.sh
mkdir -p "$runs" "$pictures"
# One experiment at a time per runs folder: two would train the same run folder at once.
exec 9<"$runs"
if ! flock -n 9; then
    echo "experiment: another experiment_positions.sh is running on $runs; wait for it or stop it" >&2
    exit 1
fi

cpu_name() {
    echo "$(lscpu | sed -n "s/^Model name: *//p" | head -1) (family $(lscpu | sed -n "s/^CPU family: *//p" | head -1), model $(lscpu | sed -n "s/^Model: *//p" | head -1))"
}
# The last finished epoch of a run folder (0 before the first).
epochs_done() {
    local m=$1/metrics.csv
    if [[ -f $m ]]; then tail -n +2 "$m" | tail -1 | cut -d, -f1; else echo 0; fi
}
# The epochs a run folder was started for (run.json), empty before it starts.
epochs_planned() {
    sed -n 's/^ *"epochs": *\([0-9]*\).*/\1/p' "$1/run.json" 2>/dev/null || true
}

extra=("${train_args[@]}")
[[ -n $epochs ]] && extra+=(--epochs "$epochs")
for pos in "${schemes[@]}"; do
    dir=$runs/$pos
    # One line per session that trains a run, before it trains: which machine made which epochs.
    done_epochs=$(epochs_done "$dir")
    total=$(epochs_planned "$dir")
    if [[ -z $total ]] || ((done_epochs < total)); then
        printf '%s\t%s\tfrom epoch %d\t%s, %d cores\n' "$pos" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
            "$((done_epochs + 1))" "$(cpu_name)" "$(nproc)" >>"$runs/machines.txt"
    fi
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
machines() { # the CPUs that trained a run, from machines.txt
    awk -F'\t' -v pos="$1" '$1 == pos { print $4 }' "$runs/machines.txt" 2>/dev/null |
        sed 's/, [0-9]* cores$//' | sort -u | paste -sd ';' | sed 's/;/; /g'
}
{
    echo "# Position schemes compared"
    echo
    echo "Made by \`scripts/experiment_positions.sh\` on $(date -u +%Y-%m-%d) from the run folders in"
    echo "[$runs_link/]($runs_link/) (model, optimiser state, logs; \`machines.txt\` says which CPU"
    echo "trained which epochs). Each run: \`rpbtool --config samples/vit_fashion_mnist.toml train --pos POS${extra[*]:+ ${extra[*]}}\`"
    echo "(the same seed, data, model size and schedule; only the position scheme differs)."
    echo
    echo "| --pos | epochs | test accuracy (last epoch) | best test accuracy (epoch) | test loss | train accuracy | training time | median epoch | trained on |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for pos in "${schemes[@]}"; do
        m=$runs/$pos/metrics.csv
        [[ -f $m ]] || continue
        total=$(epochs_planned "$runs/$pos")
        # The median epoch: what an epoch takes when the machine is not shared most of the time.
        median=$(tail -n +2 "$m" | awk -F, '{ print $7 - prev; prev = $7 }' | sort -n |
            awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
        tail -n +2 "$m" | awk -F, -v pos="$pos" -v total="$total" -v median="$median" \
            -v cpu="$(machines "$pos")" '
            { if ($6 > best) { best = $6; at = $1 } last = $0 }
            END { split(last, f, ","); printf "| %s | %d of %d%s | %.2f%% | %.2f%% (%d) | %.4f | %.2f%% | %.1f min | %.1f s | %s |\n",
                  pos, f[1], total, f[1] < total ? " (unfinished)" : "", 100 * f[6], 100 * best, at,
                  f[5], 100 * f[4], f[7] / 60, median, cpu }'
    done
    echo
    echo "Test accuracy (%) along the way:"
    echo
    header="| epoch |" rule="|---|"
    for pos in "${schemes[@]}"; do
        [[ -f $runs/$pos/metrics.csv ]] || continue
        header+=" $pos |" rule+="---|"
    done
    echo "$header"
    echo "$rule"
    last=$(for pos in "${schemes[@]}"; do epochs_done "$runs/$pos"; done | sort -n | tail -1)
    for ((e = 1; e <= last; e++)); do
        ((e == 1 || e % 5 == 0 || e == last)) || continue
        row="| $e |"
        for pos in "${schemes[@]}"; do
            m=$runs/$pos/metrics.csv
            [[ -f $m ]] || continue
            row+=" $(awk -F, -v e="$e" 'NR > 1 && $1 == e { printf "%.2f", 100 * $6; found = 1 }
                                        END { if (!found) printf "" }' "$m") |"
        done
        echo "$row"
    done
    echo
    for pos in "${schemes[@]}"; do
        [[ -f $runs/$pos/curves.png ]] || continue
        cp "$runs/$pos/curves.png" "$pictures/curves-$pos.png"
        echo "![$pos curves]($pictures_link/curves-$pos.png)"
    done
    # The learned tables of the schemes that have them, and where the rpb-2d model attends.
    for pos in rpb-2d rpb-1d t5; do
        model=$runs/$pos/model.safetensors
        [[ -f $model ]] || continue
        "$rpbtool" visualize --model "$model" -o "$pictures/tables-$pos.png"
        echo
        case $pos in
        rpb-2d) echo "Learned tables of the rpb-2d run (one row of heads per block, offset dy, dx = query - key):" ;;
        rpb-1d) echo "Learned tables of the rpb-1d run (a strip per block, a row per head, against query - key in the 50-token sequence, class token first):" ;;
        t5) echo "Learned T5 bias of the t5 run (a strip per block, a row per head, against key - query; 32 bidirectional buckets, exact up to |key - query| = 7, logarithmic beyond):" ;;
        esac
        echo
        echo "![$pos tables]($pictures_link/tables-$pos.png)"
    done
    if [[ -f $runs/rpb-2d/model.safetensors ]]; then
        "$rpbtool" visualize --model "$runs/rpb-2d/model.safetensors" --what attn --image 0 \
            -o "$pictures/attention-rpb-2d.png"
        echo
        echo "Where the rpb-2d model's class token attends for test image 0, per block and head:"
        echo
        echo "![rpb-2d attention]($pictures_link/attention-rpb-2d.png)"
    fi
    # What each head prefers, in numbers (docs/cli.md, inspect --structure), for the schemes
    # whose tables are offsets.
    for pos in rpb-2d rpb-1d; do
        model=$runs/$pos/model.safetensors
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
