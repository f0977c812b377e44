# End-to-end tests of `rpbtool bias`: shapes, layouts, tables in and out, determinism, errors.
source "$(dirname "$0")/lib.sh" "$@"

# Float32 values of an .npy file (header skipped) as text, one per line.
npy_floats() { od -An -v -t f4 -j "$2" "$1" | tr -s ' ' '\n' | sed '/^$/d'; }
npy_shape() { head -c 128 "$1" | tr -d '\0' | grep -ao "'shape': ([0-9, ]*)"; }

# --- bias[h, i, j] == table[golden[i][j], h], through --save-table ---------------------------
check_gather() {
    local golden=$GOLDEN/$1 entries=$2
    shift 2
    "$RPBTOOL" bias "$@" --heads 3 --seed 7 -o "$WORK/b.npy" --save-table "$WORK/t.npy" || fail "bias $*"
    sed 's/.*"data": //; s/}$//' "$golden" | tr -d '[] \n' | tr ',' '\n' >"$WORK/index"
    echo >>"$WORK/index"
    npy_floats "$WORK/t.npy" 128 >"$WORK/table"
    npy_floats "$WORK/b.npy" 128 >"$WORK/bias"
    local cells
    cells=$(wc -l <"$WORK/index")
    # For each head h and cell c: table row index[c], column h.
    awk -v cells="$cells" -v heads=3 '
        FILENAME == ARGV[1] { index_of[FNR - 1] = $1; next }
        FILENAME == ARGV[2] { table[FNR - 1] = $1; next }
        { h = int((FNR - 1) / cells); c = (FNR - 1) % cells
          want = table[index_of[c] * heads + h]
          if ($1 != want) { bad++ } }
        END { print bad + 0 }' "$WORK/index" "$WORK/table" "$WORK/bias" >"$WORK/bad"
    expect_eq "gather $1" "$(cat "$WORK/bad")" "0"
    expect_eq "bias values $1" "$(wc -l <"$WORK/bias")" "$((cells * 3))"
    expect_eq "table shape $1" "$(npy_shape "$WORK/t.npy")" "'shape': ($entries, 3)"
}
check_gather t5_b32_d128_bidirectional_q10_k10.json 32 --qlen 10
check_gather t5_b32_d128_causal_q10_k10.json 32 --qlen 10 --causal
check_gather t5_b32_d128_bidirectional_q4_k6_offset3.json 32 --qlen 4 --klen 6 --offset 3
check_gather window1d_index_4.json 7 --window 4
check_gather swin_index_2x3.json 15 --window 2x3
check_gather beit_index_2x2_cls.json 12 --window 2x2 --cls-token

# --- shapes and the batch layout -----------------------------------------------------------
"$RPBTOOL" bias --qlen 16 --klen 8 -o "$WORK/s.npy"
expect_eq "default heads" "$(npy_shape "$WORK/s.npy")" "'shape': (12, 16, 8)"
"$RPBTOOL" bias --qlen 16 --klen 8 --heads 2 --batch 3 -o "$WORK/batch.npy"
expect_eq "batch shape" "$(npy_shape "$WORK/batch.npy")" "'shape': (6, 16, 8)"
"$RPBTOOL" bias --qlen 16 --klen 8 --heads 2 -o "$WORK/one.npy"
# Rows b*H + h repeat head h: the batched file is the unbatched data three times.
tail -c +129 "$WORK/one.npy" >"$WORK/one.data"
cat "$WORK/one.data" "$WORK/one.data" "$WORK/one.data" >"$WORK/three.data"
tail -c +129 "$WORK/batch.npy" >"$WORK/batch.data"
expect_same_file "batch layout" "$WORK/batch.data" "$WORK/three.data"

# --- determinism: same seed, same bytes; different seed, different table ---------------------
"$RPBTOOL" bias --window 7x7 --heads 3 --seed 5 -o "$WORK/a1.npy"
"$RPBTOOL" bias --window 7x7 --heads 3 --seed 5 -o "$WORK/a2.npy"
"$RPBTOOL" bias --window 7x7 --heads 3 --seed 6 -o "$WORK/a3.npy"
expect_same_file "same seed" "$WORK/a1.npy" "$WORK/a2.npy"
cmp -s "$WORK/a1.npy" "$WORK/a3.npy" && fail "different seeds gave the same bias" || pass

# --- tables read back bit for bit, from .npy and .safetensors, both layouts --------------------
"$RPBTOOL" bias --qlen 9 --heads 4 --seed 3 -o "$WORK/fresh.npy" --save-table "$WORK/t5.safetensors"
"$RPBTOOL" bias --qlen 9 --table "$WORK/t5.safetensors" -o "$WORK/reloaded.npy"
expect_same_file "safetensors round trip" "$WORK/fresh.npy" "$WORK/reloaded.npy"
"$RPBTOOL" bias --qlen 9 --table "$WORK/t5.safetensors:relative_attention_bias.weight" -o "$WORK/named.npy"
expect_same_file "FILE:NAME" "$WORK/fresh.npy" "$WORK/named.npy"
"$RPBTOOL" bias --qlen 9 --heads 4 --seed 3 --save-table "$WORK/t5.npy" -o /dev/null
"$RPBTOOL" bias --qlen 9 --table "$WORK/t5.npy" -o "$WORK/from_npy.npy"
expect_same_file "npy round trip" "$WORK/fresh.npy" "$WORK/from_npy.npy"
expect_ok bias --window 2x2 --init zeros --heads 1 --format json
expect_eq "zeros" "$(printf '%s' "$out" | grep -c '\[0.0, 0.0, 0.0, 0.0\]')" "4"

# A (heads, entries) table (T5X layout) is read as its transpose: a (2, 32) file made from
# the saved (32, 2) one by rewriting the shape and reordering the 4-byte values.
"$RPBTOOL" bias --qlen 5 --heads 2 --seed 1 --save-table "$WORK/eh.npy" -o "$WORK/eh_bias.npy"
{
    head -c 128 "$WORK/eh.npy" | sed "s/(32, 2)/(2, 32)/"
    for h in 0 1; do
        for e in $(seq 0 31); do
            dd if="$WORK/eh.npy" bs=4 skip=$((32 + e * 2 + h)) count=1 status=none
        done
    done
} >"$WORK/he.npy"
"$RPBTOOL" bias --qlen 5 --table "$WORK/he.npy" -o "$WORK/he_bias.npy"
expect_same_file "(heads, entries) table" "$WORK/he_bias.npy" "$WORK/eh_bias.npy"
"$RPBTOOL" bias --qlen 5 --table "$WORK/he.npy" --table-layout entries-heads -o /dev/null 2>"$WORK/forced"
expect_eq "forced layout refused" "$?" "1"

# A square table (entries == heads) fits both layouts: the user must say which.
"$RPBTOOL" bias --window 2 --heads 3 --save-table "$WORK/square.npy" -o /dev/null
run bias --window 2 --table "$WORK/square.npy"
expect_eq "ambiguous layout status" "$status" "2"
expect_eq "ambiguous layout names the flag" "$(printf '%s' "$err" | grep -c -- '--table-layout')" "1"
expect_ok bias --window 2 --table "$WORK/square.npy" --table-layout entries-heads -o /dev/null

# --- errors -------------------------------------------------------------------------------------
expect_error 2 "unknown --init 'uniform': expected trunc-normal, normal or zeros" bias --init uniform
expect_error 2 "--batch 0 is out of range: expected an integer from 1 to 65536" bias --batch 0
expect_error 2 "--heads 0 is out of range: expected an integer from 1 to 4096" bias --heads 0
expect_error 2 "--format csv holds 1-D or 2-D data, and this output has shape (12, 128, 128): use --format npy or json" bias --format csv
expect_error 2 "--save-table $WORK/t.txt: expected a file name ending in .npy or .safetensors" bias --qlen 2 --save-table "$WORK/t.txt" -o /dev/null
expect_error 1 "no tensor in $WORK/t5.safetensors fits a table of 169 entries (2-D with a dimension of 169); it holds: relative_attention_bias.weight (32, 4)" bias --window 7x7 --table "$WORK/t5.safetensors"
run bias --qlen 4 --table "$WORK/missing.npy"
expect_eq "missing table status" "$status" "1"
printf 'not an npy file at all' >"$WORK/junk.npy"
run bias --qlen 4 --table "$WORK/junk.npy"
expect_eq "junk table status" "$status" "1"
expect_eq "junk table one line" "$(printf '%s\n' "$err" | wc -l)" "1"
expect_eq "nothing left behind" "$(ls -A "$WORK" | grep -c rpbtool)" "0"

finish
