# Every `$ build/rpbtool ...` example of README.md runs as shown: each command line of a
# ```console block (joined with its `\` continuation lines) runs with bash in a scratch folder
# where build/rpbtool is the binary under test and the repository's tests/, samples/ and
# scripts/ are reachable by the same relative paths; it must exit 0, and where the README
# shows output under the command, the output must be exactly that.
source "$(dirname "$0")/lib.sh" "$@"
ROOT=$(cd "$TESTS/.." && pwd)
README=$ROOT/README.md

mkdir -p "$WORK/run/build"
ln -s "$RPBTOOL" "$WORK/run/build/rpbtool"
for d in tests samples scripts docs; do
    ln -s "$ROOT/$d" "$WORK/run/$d"
done

# Stand-ins, only for commands that would take more than ~30 s as shown, keyed by the command
# as written (without its comment). Each one keeps what the example shows (the same command
# and outputs) at a size a test can afford.
TRAIN_SMALL="--data tests/golden/vit/data --patch 4 --embed-dim 16 --depth 2 --heads 2 --mlp-dim 32 --batch-size 8 -q"
declare -A STAND_IN=(
    # 12.9 GB through a pipe (tens of seconds on a loaded machine): the same stream, 1/16 long.
    ["build/rpbtool bias --qlen 16384 --heads 12 --format npy -o - | wc -c"]="build/rpbtool bias --qlen 4096 --heads 12 --format npy -o - | wc -c"
    # Trainings of minutes to an hour: the same commands on the tiny golden data set.
    ["build/rpbtool train --epochs 2 --limit-train 10000 -o runs/short"]="build/rpbtool train --epochs 2 $TRAIN_SMALL -o runs/short"
    ["build/rpbtool train -o runs/recipe"]="build/rpbtool train --epochs 1 $TRAIN_SMALL -o runs/recipe"
)
# The short model is trained on the golden data set's 12 x 12 images, so the examples that
# read test images read them from there too.
STAND_IN["build/rpbtool eval --model runs/short/model.safetensors --confusion confusion.png"]="build/rpbtool eval --model runs/short/model.safetensors --data tests/golden/vit/data --confusion confusion.png"
STAND_IN["build/rpbtool visualize --model runs/short/model.safetensors --what attn --image 0 -o attention.png"]="build/rpbtool visualize --model runs/short/model.safetensors --data tests/golden/vit/data --what attn --image 0 -o attention.png"

# The examples: "command<TAB>line number" records, each followed by its shown output lines
# (prefixed "|"), from the console blocks.
awk '
    /^```console/ { inside = 1; next }
    /^```/ && inside { inside = 0; cmd = ""; next }
    !inside { next }
    cont { l = $0; sub(/^ +/, "", l); cmd = cmd " " l }
    !cont && /^\$ / { cmd = substr($0, 3); line = NR }
    !cont && !/^\$ / { if (started) print "|" $0; next }
    {
        cont = (cmd ~ /\\$/)
        if (cont) { sub(/ *\\$/, "", cmd); next }
        started = (cmd ~ /^build\/rpbtool /)
        if (started) print "$" cmd "\t" line
    }
' "$README" >"$WORK/examples"

count=$(grep -c '^\$' "$WORK/examples")
if [ "$count" -ge 25 ]; then pass; else fail "only $count build/rpbtool examples found in README.md"; fi

# run_example COMMAND LINE EXPECTED_FILE
run_example() {
    local command=$1 line=$2 expected=$3 shown
    # The comment is the reader's, not the command's.
    command=$(printf '%s' "$command" | sed -E 's/[[:space:]]+#.*$//')
    shown=$command
    if [ -n "${STAND_IN[$command]+x}" ]; then
        command=${STAND_IN[$command]}
        echo "note: README.md:$line runs as: $command"
    fi
    local start=$SECONDS
    (cd "$WORK/run" && bash -o pipefail -c "$command" >"$WORK/out" 2>"$WORK/err" </dev/null)
    local status=$?
    if [ "$status" -ne 0 ]; then
        fail "README.md:$line: '$shown' exited $status: $(head -c 600 "$WORK/err")"
        return
    fi
    if [ -s "$expected" ] && ! cmp -s "$WORK/out" "$expected"; then
        fail "README.md:$line: '$shown' printed something else:
$(diff "$expected" "$WORK/out" | head -20)"
        return
    fi
    echo "ok ($((SECONDS - start)) s): $shown"
    pass
}

command=
while IFS= read -r record; do
    case $record in
    \$*)
        [ -n "$command" ] && run_example "$command" "$line" "$WORK/expected"
        command=${record#\$}
        line=${command##*$'\t'}
        command=${command%$'\t'*}
        : >"$WORK/expected"
        ;;
    \|*) printf '%s\n' "${record#|}" >>"$WORK/expected" ;;
    esac
done <"$WORK/examples"
[ -n "$command" ] && run_example "$command" "$line" "$WORK/expected"

finish
