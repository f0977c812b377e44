# End-to-end tests of `rpbtool train` and `rpbtool eval` on the small golden data set:
# the run folder, resume after SIGINT and kill -9 to the same bytes, errors, eval outputs.
source "$(dirname "$0")/lib.sh" "$@"
V=$GOLDEN/vit
D=$V/data
ARCH=(--patch 4 --embed-dim 16 --depth 2 --heads 2 --mlp-dim 32 -q)
SMALL=(--data "$D" "${ARCH[@]}" --batch-size 8)

# --- a run writes its folder; the same seed gives the same bytes for any thread count ---------
expect_ok train "${SMALL[@]}" --epochs 2 --seed 3 --threads 1 -o "$WORK/a"
for f in run.json model.safetensors state.safetensors steps.csv metrics.csv curves.png curves.svg; do
    [ -s "$WORK/a/$f" ] && pass || fail "run folder lacks $f"
done
expect_eq "steps.csv rows" "$(($(wc -l <"$WORK/a/steps.csv") - 1))" "24"
expect_eq "steps.csv header" "$(head -1 "$WORK/a/steps.csv" | cut -d, -f1-4)" "step,epoch,lr,loss"
expect_eq "metrics.csv header" "$(head -1 "$WORK/a/metrics.csv" | cut -d, -f1-7)" \
    "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,seconds"
expect_eq "metrics.csv rows" "$(($(wc -l <"$WORK/a/metrics.csv") - 1))" "2"
expect_eq "curves.png is a PNG" "$(head -c 8 "$WORK/a/curves.png" | od -An -tx1 | tr -d ' ')" "89504e470d0a1a0a"
if command -v xmllint >/dev/null; then
    # The same two panels as vector graphics: train and test lines in each.
    expect_eq "curves.svg lines" "$(xmllint --xpath "count(//*[local-name()='polyline' and starts-with(@class,'series-')])" "$WORK/a/curves.svg")" "4"
fi
expect_ok train "${SMALL[@]}" --epochs 2 --seed 3 --threads 2 -o "$WORK/b"
expect_same_file "model, 1 vs 2 threads" "$WORK/a/model.safetensors" "$WORK/b/model.safetensors"
expect_same_file "steps.csv, 1 vs 2 threads" "$WORK/a/steps.csv" "$WORK/b/steps.csv"

# Random erasing: recorded in run.json, changes the training, still the same bytes per thread count.
expect_ok train "${SMALL[@]}" --epochs 2 --seed 3 --threads 1 --augment flip,crop,erase --erase-prob 0.25 -o "$WORK/erase1"
expect_ok train "${SMALL[@]}" --epochs 2 --seed 3 --threads 2 --augment crop,flip,erase --erase-prob 0.25 -o "$WORK/erase2"
expect_same_file "erasing model, 1 vs 2 threads" "$WORK/erase1/model.safetensors" "$WORK/erase2/model.safetensors"
expect_eq "run.json erase" "$(grep -c '"erase": 0.25' "$WORK/erase1/run.json")" "1"
expect_eq "run.json without erase" "$(grep -c '"erase": 0.0' "$WORK/a/run.json")" "1"
cmp -s "$WORK/a/model.safetensors" "$WORK/erase1/model.safetensors" && fail "erasing changed nothing" || pass

# scripts/summarize_runs.sh: a row per run folder, from run.json and metrics.csv alone.
summary=$(bash "$TESTS/../scripts/summarize_runs.sh" "$WORK/a" "$WORK/erase1/")
expect_eq "summary rows" "$(printf '%s\n' "$summary" | grep -c '^| a |\|^| erase1 |')" "2"
row_a=$(printf '%s\n' "$summary" | grep '^| a |')
last_a=$(tail -1 "$WORK/a/metrics.csv" | awk -F, '{ printf "%.2f%%", 100 * $6 }')
expect_eq "summary: a's last test accuracy" "$(echo "$row_a" | awk -F' [|] ' '{ print $4 }')" "$last_a"
expect_eq "summary: a's epochs" "$(echo "$row_a" | awk -F' [|] ' '{ print $3 }')" "2 of 2"
for change in "--embed-dim 16" "--depth 2" "--epochs 2" "--seed 3" "--batch-size 8"; do
    case "$row_a" in *"$change"*) pass ;; *) fail "summary of a lacks '$change': $row_a" ;; esac
done
case "$(printf '%s\n' "$summary" | grep '^| erase1 |')" in
*"erase (--erase-prob 0.25)"*) pass ;;
*) fail "summary of erase1 lacks its erasing" ;;
esac
bash "$TESTS/../scripts/summarize_runs.sh" "$WORK/nothing" 2>"$WORK/sum.err" && fail "summary of no run" || pass
expect_eq "summary error" "$(cat "$WORK/sum.err")" "summarize_runs: $WORK/nothing: not a run folder (no run.json and metrics.csv there)"

# --- an existing run is never overwritten; --resume needs a run ------------------------------
expect_error 2 "-o $WORK/a: the run folder exists; continue it with --resume or choose another folder" \
    train "${SMALL[@]}" --epochs 2 -o "$WORK/a"
expect_error 2 "-o $WORK/none: no run to resume there (no run.json); start it without --resume" \
    train "${SMALL[@]}" --resume -o "$WORK/none"
expect_error 2 "--lr 0.5 differs from the run's 0.003 in $WORK/a/run.json: --resume continues the run as it was started" \
    train --resume --lr 0.5 -o "$WORK/a" -q
# A finished run resumed: nothing to do, nothing changes.
cp "$WORK/a/model.safetensors" "$WORK/finished.safetensors"
expect_ok train --resume -o "$WORK/a" -q
expect_same_file "finished run resumed" "$WORK/a/model.safetensors" "$WORK/finished.safetensors"

# --- SIGINT mid-run, then --resume: the same model as the uninterrupted run -------------------
"$RPBTOOL" train "${SMALL[@]}" --epochs 12 --seed 3 -o "$WORK/full" || fail "full run"
"$RPBTOOL" train "${SMALL[@]}" --epochs 12 --seed 3 -o "$WORK/int" 2>"$WORK/int.err" &
pid=$!
while [ ! -s "$WORK/int/state.safetensors" ] && kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
kill -INT "$pid" 2>/dev/null
wait "$pid"
st=$?
if [ "$st" -eq 0 ]; then
    pass # it finished before the signal: nothing to check there
else
    expect_eq "exit status on SIGINT" "$st" "130"
    grep -q "continue with rpbtool train -o $WORK/int --resume" "$WORK/int.err" && pass ||
        fail "no resume hint: $(cat "$WORK/int.err")"
fi
expect_ok train --resume -o "$WORK/int" -q
expect_same_file "model after SIGINT + resume" "$WORK/full/model.safetensors" "$WORK/int/model.safetensors"
expect_same_file "steps.csv after SIGINT + resume" "$WORK/full/steps.csv" "$WORK/int/steps.csv"

# --- kill -9 at a random moment, twice, then --resume: the same model ------------------------
"$RPBTOOL" train "${SMALL[@]}" --epochs 12 --seed 3 -o "$WORK/k9" &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -f "$WORK/k9/run.json" ]; then
    "$RPBTOOL" train --resume -o "$WORK/k9" -q &
    pid=$!
    sleep 0.2
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    expect_ok train --resume -o "$WORK/k9" -q
    expect_same_file "model after kill -9 + resume" "$WORK/full/model.safetensors" "$WORK/k9/model.safetensors"
    expect_same_file "steps.csv after kill -9 + resume" "$WORK/full/steps.csv" "$WORK/k9/steps.csv"
else
    pass # killed before the run folder existed
fi
ls "$WORK/k9" | grep -q '\.tmp' && fail "temporary files left in the run folder" || pass

# --- --steps 0 writes the initial model only; --from starts from it ---------------------------
expect_ok train "${SMALL[@]}" --steps 0 -o "$WORK/init"
expect_eq "steps 0: no step rows" "$(($(wc -l <"$WORK/init/steps.csv") - 1))" "0"
expect_ok train "${SMALL[@]}" --from "$WORK/init/model.safetensors" --epochs 1 -o "$WORK/ft"
expect_error 2 "--from $V/train_init.safetensors: its architecture ({\"in_chans\":1,\"image_size\":[12,12],\"patch_size\":4,\"num_classes\":10,\"embed_dim\":16,\"depth\":2,\"num_heads\":2,\"mlp_dim\":32,\"pos\":\"rpb-2d\",\"pool\":\"cls\",\"num_buckets\":32,\"max_distance\":128,\"mean\":[0.35567837953567505],\"std\":[0.3437705934047699],\"classes\":[\"T-shirt/top\",\"Trouser\",\"Pullover\",\"Dress\",\"Coat\",\"Sandal\",\"Shirt\",\"Sneaker\",\"Bag\",\"Ankle boot\"]}) differs from the options given" \
    train --data "$D" --from "$V/train_init.safetensors" --depth 3 --embed-dim 16 --heads 2 --mlp-dim 32 -o "$WORK/bad" -q

# --- bad input is a one-line error ---------------------------------------------------------
expect_error 2 "--patch 5 does not divide the 12x12 image (accepted: a divisor of both sides)" \
    train --data "$D" --patch 5 -o "$WORK/e1" -q
expect_error 2 "--heads 3 does not divide --embed-dim 16 (accepted: a divisor of the width)" \
    train --data "$D" --embed-dim 16 --heads 3 -o "$WORK/e2" -q
expect_error 2 "--pos: 'alibi' is not a position scheme (accepted: rpb-2d, rpb-1d, t5, ape, none)" \
    train --data "$D" --pos alibi -o "$WORK/e3" -q
ACCEPTED="accepted: none, or a comma-separated set of crop, flip, erase"
expect_error 2 "--augment: 'rotate' is not accepted (unknown item 'rotate'; $ACCEPTED)" \
    train --data "$D" --augment rotate -o "$WORK/e4" -q
expect_error 2 "--augment: 'crop,flip,crop' is not accepted ('crop' twice; $ACCEPTED)" \
    train --data "$D" --augment crop,flip,crop -o "$WORK/e4" -q
expect_error 2 "--augment: 'crop,' is not accepted (an empty item; $ACCEPTED)" \
    train --data "$D" --augment crop, -o "$WORK/e4" -q
expect_error 2 "--erase-prob must be in (0, 1], not 1.5" \
    train --data "$D" --augment erase --erase-prob 1.5 -o "$WORK/e4" -q
expect_error 2 "--batch-size 500 is larger than the 96 training images" \
    train --data "$D" "${ARCH[@]}" --batch-size 500 -o "$WORK/e5"
mkdir -p "$WORK/empty"
expect_error 1 "$WORK/empty: no training images: looked for train-images-idx3-ubyte and train-images-idx3-ubyte.gz" \
    train --data "$WORK/empty" -o "$WORK/e6" -q
mkdir -p "$WORK/trunc"
cp "$D"/* "$WORK/trunc/"
head -c 300 "$D/train-images-idx3-ubyte.gz" >"$WORK/trunc/train-images-idx3-ubyte.gz"
run train --data "$WORK/trunc" "${ARCH[@]}" --batch-size 8 -o "$WORK/e7"
expect_eq "truncated gzip: status" "$status" "1"
expect_eq "truncated gzip: one line" "$(printf '%s\n' "$err" | wc -l)" "1"
[ ! -e "$WORK/e7" ] && pass || fail "a failed start left $WORK/e7"

# --- eval: text, JSON, logits, confusion picture ----------------------------------------------
M=$WORK/a/model.safetensors
expect_ok eval --model "$M" --data "$D" -o "$WORK/eval.json"
grep -q '"command":"eval","model":' "$WORK/eval.json" && pass || fail "eval JSON: $(cat "$WORK/eval.json")"
grep -q '"split":"test","images":48,' "$WORK/eval.json" && pass || fail "eval JSON images"
expect_eq "metrics.csv and eval agree" \
    "$(tail -1 "$WORK/a/metrics.csv" | cut -d, -f6)" \
    "$(grep -o '"accuracy":[0-9.e-]*' "$WORK/eval.json" | head -1 | cut -d: -f2 | awk '{ printf "%.9g", $1 }')"
expect_ok eval --model "$M" --data "$D" --split train --logits "$WORK/logits.npy" --confusion "$WORK/conf.png"
expect_eq "logits shape" "$(head -c 128 "$WORK/logits.npy" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)")" "'shape': (96, 10)"
expect_eq "confusion is a PNG" "$(head -c 4 "$WORK/conf.png" | od -An -tx1 | tr -d ' ')" "89504e47"
# Class names: digits for a folder whose name does not say "fashion"; the model's own otherwise.
printf '%s\n' "$out" | grep -q "^9 *11 " && pass || fail "eval text lacks the per-class table: $out"
expect_ok eval --model "$V/train_adamw/final.safetensors" --data "$D"
printf '%s\n' "$out" | grep -q "^Ankle boot *4 " && pass || fail "eval text lacks class names: $out"
expect_error 2 "--model is required: the model file to evaluate (e.g. runs/vit-rpb-2d/model.safetensors)" eval --data "$D"
expect_error 2 "--split: 'valid' is not a split (accepted: test, train)" eval --model "$M" --data "$D" --split valid
printf 'x' >"$WORK/tiny.safetensors"
expect_error 1 "$WORK/tiny.safetensors: not a .safetensors file: 1 bytes, too short for the 8-byte header size" \
    eval --model "$WORK/tiny.safetensors" --data "$D"
expect_error 1 "$V/rpb2d_cls/grads.safetensors: not an rpbtool model file: no 'rpbtool.config' in its metadata" \
    eval --model "$V/rpb2d_cls/grads.safetensors" --data "$D"

# --- the recipe file says what `rpbtool train` does with no options ---------------------------
FM=/usr/share/datasets/fashion-mnist
if [ -d "$FM" ]; then
    expect_ok train --steps 0 -o "$WORK/defaults" -q
    expect_ok --config "$TESTS/../samples/vit_fashion_mnist.toml" train --steps 0 -o "$WORK/recipe" -q
    expect_same_file "recipe = defaults (run.json)" "$WORK/defaults/run.json" "$WORK/recipe/run.json"
    expect_same_file "recipe = defaults (model)" "$WORK/defaults/model.safetensors" "$WORK/recipe/model.safetensors"
else
    echo "skipped: the recipe check needs $FM (scripts/setup.sh installs it)"
fi

# --- visualize --model: the learned tables and the attention of a test image -----------------
png_size() { od -An -tu1 -j 16 -N 8 "$1" | awk '{ print $1*16777216+$2*65536+$3*256+$4 "x" $5*16777216+$6*65536+$7*256+$8 }'; }
expect_ok visualize --model "$M" -o "$WORK/tables.png"
expect_eq "tables picture is a PNG" "$(head -c 4 "$WORK/tables.png" | od -An -tx1 | tr -d ' ')" "89504e47"
expect_ok visualize --model "$V/t5_cls/model.safetensors" --layer 1 -o "$WORK/t5.png"
expect_ok visualize --model "$M" --what attn --data "$D" --image 5 -o "$WORK/attn.png"
# t5 tables against distance: a line-plot panel per block; and an SVG of the image and maps.
expect_ok visualize --model "$V/t5_cls/model.safetensors" --view distance -o "$WORK/t5_lines.png"
expect_ok visualize --model "$M" --what attn --data "$D" --image 5 -o "$WORK/attn.svg"
if command -v xmllint >/dev/null; then
    expect_eq "t5 distance panels" "$("$RPBTOOL" visualize --model "$V/t5_cls/model.safetensors" --view distance --format svg | xmllint --xpath "count(//*[local-name()='text' and starts-with(text(),'block ')])" -)" "2"
    expect_eq "attn svg: the image and the maps" "$(xmllint --xpath "count(//*[@class='image' or starts-with(@class,'panel-')])" "$WORK/attn.svg")" "5"
fi
[ "$(png_size "$WORK/attn.png")" != "$(png_size "$WORK/tables.png")" ] && pass || fail "attention picture"
expect_error 2 "--layer 2 is out of range: expected a block from 0 to 1" visualize --model "$M" --layer 2 -o "$WORK/x.png"
expect_error 2 "--image 48 is out of range: the test split has 48 images (0 to 47)" \
    visualize --model "$M" --what attn --data "$D" --image 48 -o "$WORK/x.png"
expect_error 2 "$V/ape_cls/model.safetensors: a --pos ape model has no bias tables to draw (try --what attn)" \
    visualize --model "$V/ape_cls/model.safetensors" -o "$WORK/x.png"
expect_error 2 "--window does not apply to --model" visualize --model "$M" --window 7x7 -o "$WORK/x.png"
[ ! -e "$WORK/x.png" ] && pass || fail "a failed visualize left its output"
finish
