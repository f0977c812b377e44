# End-to-end tests of `rpbtool attn`: the golden Swin case, shapes, probabilities, errors.
source "$(dirname "$0")/lib.sh" "$@"
G=$GOLDEN/attn_swin_2x2_e8_h2


# --- the golden case to 1e-5 ----------------------------------------------------------------
expect_ok attn --window 2x2 --weights "$G/weights.safetensors" --input "$G/x.npy" \
    -o "$WORK/out.npy" --probs "$WORK/probs.npy"
expect_eq "out shape" "$(npy_shape "$WORK/out.npy")" "$(npy_shape "$G/out.npy")"
expect_eq "probs shape" "$(npy_shape "$WORK/probs.npy")" "$(npy_shape "$G/probs.npy")"
npy_floats "$WORK/out.npy" >"$WORK/a"
npy_floats "$G/out.npy" >"$WORK/b"
d=$(max_diff "$WORK/a" "$WORK/b")
within "$d" 1e-5 && pass || fail "golden out differs by $d"
npy_floats "$WORK/probs.npy" >"$WORK/a"
npy_floats "$G/probs.npy" >"$WORK/b"
d=$(max_diff "$WORK/a" "$WORK/b")
within "$d" 1e-5 && pass || fail "golden probs differ by $d"

# --- a prefix inside a bigger checkpoint is found; a missing name lists what is there ---------
expect_error 1 "--weights $G/weights.safetensors: no tensor names start with --prefix 'layers.0'; it holds: proj.bias, proj.weight, qkv.bias, qkv.weight, relative_position_bias_table" \
    attn --window 2x2 --weights "$G/weights.safetensors" --prefix layers.0 --input "$G/x.npy" -o /dev/null

# --- probabilities sum to 1 per row, every scheme ---------------------------------------------
for scheme in "--qlen 33" "--qlen 17 --causal" "--window 5" "--window 3x4" "--window 3x3 --cls-token"; do
    # shellcheck disable=SC2086
    "$RPBTOOL" attn $scheme --embed-dim 12 --heads 3 --batch 2 --seed 4 -o "$WORK/o.npy" --probs "$WORK/p.npy" ||
        fail "attn $scheme"
    n=$(npy_shape "$WORK/p.npy" | grep -o '[0-9]*)' | tr -d ')')
    bad=$(npy_floats "$WORK/p.npy" | awk -v n="$n" '{ s += $1; if (NR % n == 0) { if (s < 0.99999 || s > 1.00001) bad++; s = 0 } } END { print bad + 0 }')
    expect_eq "row sums $scheme" "$bad" "0"
done
# causal: a query sees no later key (upper triangle of every head is zero)
"$RPBTOOL" attn --qlen 6 --causal --embed-dim 8 --heads 2 -o /dev/null --probs "$WORK/c.npy"
upper=$(npy_floats "$WORK/c.npy" | awk '{ i = int((NR - 1) / 6) % 6; j = (NR - 1) % 6; if (j > i && $1 != 0) bad++ } END { print bad + 0 }')
expect_eq "causal mask" "$upper" "0"

# --- shapes: output keeps the input's rank; random input from --tokens/--batch -------------------
expect_ok attn --window 7x7 --heads 3 --embed-dim 96 --batch 4 -o "$WORK/w.npy"
expect_eq "batched shape" "$(npy_shape "$WORK/w.npy")" "'shape': (4, 49, 96)"
expect_ok attn --qlen 20 --embed-dim 16 --heads 4 --scale 1 -o "$WORK/t5.npy"
expect_eq "t5 shape" "$(npy_shape "$WORK/t5.npy")" "'shape': (1, 20, 16)"
expect_ok attn --tokens 9 --embed-dim 16 --heads 4 -o "$WORK/t9.npy"
expect_eq "t5 --tokens" "$(npy_shape "$WORK/t9.npy")" "'shape': (1, 9, 16)"

# --- weights out and back in: same output bit for bit --------------------------------------------
"$RPBTOOL" attn --window 3x3 --embed-dim 12 --heads 2 --seed 9 --save-weights "$WORK/w.safetensors" -o "$WORK/first.npy"
"$RPBTOOL" attn --window 3x3 --embed-dim 12 --heads 2 --seed 9 --save-weights "$WORK/w2.safetensors" -o "$WORK/again.npy"
expect_same_file "deterministic" "$WORK/first.npy" "$WORK/again.npy"
expect_same_file "deterministic weights" "$WORK/w.safetensors" "$WORK/w2.safetensors"
"$RPBTOOL" attn --window 3x3 --seed 9 --weights "$WORK/w.safetensors" -o "$WORK/reloaded.npy"
expect_same_file "weights round trip (E and heads from the file)" "$WORK/first.npy" "$WORK/reloaded.npy"

# The fresh table of `attn --seed` is the one `bias --seed` makes.
"$RPBTOOL" bias --window 3x3 --table "$WORK/w.safetensors:relative_position_bias_table" -o "$WORK/b1.npy"
"$RPBTOOL" bias --window 3x3 --heads 2 --seed 9 -o "$WORK/b2.npy"
expect_same_file "attn and bias share the seeded table" "$WORK/b1.npy" "$WORK/b2.npy"

# --- errors -----------------------------------------------------------------------------------------
expect_error 2 "--embed-dim 10 is not divisible by --heads 3: expected heads that divide the model width" attn --embed-dim 10 --heads 3
expect_error 2 "--tokens 5 does not fit the scheme: 2d window 7x7 (169 entries) has 49 tokens" attn --window 7x7 --heads 3 --tokens 5
expect_error 1 "$G/weights.safetensors: not a .npy file (no \\x93NUMPY magic string)" attn --input "$G/weights.safetensors"
expect_error 1 "--input $G/out.npy has 4 tokens, but 2d window 3x3 (25 entries) has 9" attn --window 3x3 --heads 2 --input "$G/out.npy"
expect_error 1 "--input $WORK/t5.npy has width 16, but --embed-dim is 8" attn --qlen 20 --embed-dim 8 --heads 2 --input "$WORK/t5.npy"
"$RPBTOOL" attn --qlen 4 --heads 2 --embed-dim 4 -o "$WORK/o4.npy"
run attn --window 2x2 --embed-dim 16 --heads 2 --weights "$G/weights.safetensors" --input "$G/x.npy"
expect_eq "weights of the wrong shape" "$status" "1"
expect_eq "names expected and found shapes" "$(printf '%s' "$err" | grep -c '(48, 16)')" "1"
# NaN in the input: overwrite the first value of x with a quiet NaN.
cp "$G/x.npy" "$WORK/nan.npy"
chmod u+w "$WORK/nan.npy"
printf '\x00\x00\xc0\x7f' | dd of="$WORK/nan.npy" bs=1 seek=128 conv=notrunc status=none
run attn --window 2x2 --weights "$G/weights.safetensors" --input "$WORK/nan.npy" -o "$WORK/nan_out.npy"
expect_eq "NaN input status" "$status" "1"
expect_eq "NaN input one line" "$(printf '%s\n' "$err" | wc -l)" "1"
[ -e "$WORK/nan_out.npy" ] && fail "output left behind after an error" || pass
# wrong rank: a (2, 4, 4) bias as input is 3-D but (1-D) table is not
"$RPBTOOL" bucket --qlen 5 --format npy -o "$WORK/ints.npy"
run attn --input "$WORK/ints.npy"
expect_eq "int input refused" "$status" "1"

# --- many windows are streamed piece by piece: the same bits as the whole computation ----------
# (--probs makes rpbtool compute the batch whole.) 120 windows of 7x7: 3 parts of up to 50.
sw=(--window 7x7 --embed-dim 96 --heads 3)
"$RPBTOOL" attn "${sw[@]}" --batch 120 --seed 2 -o "$WORK/x120.npy"
expect_ok attn "${sw[@]}" --input "$WORK/x120.npy" -o "$WORK/s_stream.npy"
expect_ok attn "${sw[@]}" --input "$WORK/x120.npy" -o "$WORK/s_whole.npy" --probs "$WORK/s_p.npy"
expect_same_file "streamed file input" "$WORK/s_stream.npy" "$WORK/s_whole.npy"
"$RPBTOOL" attn "${sw[@]}" --input - -o "$WORK/s_pipe.npy" <"$WORK/x120.npy"
expect_same_file "input from a pipe (read whole)" "$WORK/s_pipe.npy" "$WORK/s_whole.npy"
"$RPBTOOL" attn "${sw[@]}" --batch 120 -o "$WORK/r_stream.npy"
"$RPBTOOL" attn "${sw[@]}" --batch 120 -o "$WORK/r_whole.npy" --probs "$WORK/r_p.npy"
expect_same_file "streamed random input" "$WORK/r_stream.npy" "$WORK/r_whole.npy"
"$RPBTOOL" attn "${sw[@]}" --input "$WORK/x120.npy" -o "$WORK/s_stream.json"
"$RPBTOOL" attn "${sw[@]}" --input "$WORK/x120.npy" -o "$WORK/s_whole.json" --probs "$WORK/s_p.npy"
expect_same_file "streamed JSON" "$WORK/s_stream.json" "$WORK/s_whole.json"
"$RPBTOOL" attn "${sw[@]}" --input "$WORK/x120.npy" --format text -o "$WORK/s_stream.txt"
"$RPBTOOL" attn "${sw[@]}" --input "$WORK/x120.npy" --format text -o "$WORK/s_whole.txt" --probs "$WORK/s_p.npy"
expect_same_file "streamed text (rows fetched one by one)" "$WORK/s_stream.txt" "$WORK/s_whole.txt"
# A NaN in the last window is found before anything is written, even to a pipe.
cp "$WORK/x120.npy" "$WORK/nan120.npy"
size=$(stat -c %s "$WORK/nan120.npy")
printf '\x00\x00\xc0\x7f' | dd of="$WORK/nan120.npy" bs=1 seek=$((size - 8)) conv=notrunc status=none
bytes=$("$RPBTOOL" attn "${sw[@]}" --input "$WORK/nan120.npy" 2>"$WORK/nan_err" -o - | wc -c)
expect_eq "nothing written before a late NaN" "$bytes" "0"
expect_eq "late NaN named" "$(cat "$WORK/nan_err")" "rpbtool: error: --input $WORK/nan120.npy: element (119, 48, 94) is nan (values must be finite)"
# Where no partial output can be seen (a file renamed into place on success, /dev/null),
# the values are checked as they are read instead: the same error, nothing left behind.
run attn "${sw[@]}" --input "$WORK/nan120.npy" -o "$WORK/nan120_out.npy"
expect_eq "late NaN, file output: status" "$status" "1"
expect_eq "late NaN, file output: message" "$err" "rpbtool: error: --input $WORK/nan120.npy: element (119, 48, 94) is nan (values must be finite)"
[ -z "$(ls -A "$WORK" | grep nan120_out)" ] && pass || fail "output or temporary file left behind after a late NaN"
run attn "${sw[@]}" --input "$WORK/nan120.npy" -o /dev/null
expect_eq "late NaN, /dev/null: status" "$status" "1"
expect_eq "late NaN, /dev/null: message" "$err" "rpbtool: error: --input $WORK/nan120.npy: element (119, 48, 94) is nan (values must be finite)"

finish
