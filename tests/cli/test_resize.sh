# End-to-end tests of `rpbtool resize`: one table against PyTorch's F.interpolate (goldens of
# scripts/make_zoo_goldens.py), whole checkpoints (tables, index buffers, Swin V2 coordinate
# tables rewritten, everything else kept), and errors that leave nothing behind.
source "$(dirname "$0")/lib.sh" "$@"
Z=$GOLDEN/zoo


# --- one table: PyTorch's float32 bicubic is itself ~1e-6 off the exact values -----------------------
T="$Z/tv_swin.safetensors:features.1.0.attn.relative_position_bias_table"
expect_ok resize --table "$T" --window 7x7 --to 12x12 -o "$WORK/t12.npy"
expect_close "swin table 7x7 -> 12x12" "$WORK/t12.npy" "$Z/tv_swin_table_12x12.npy" 2e-6
expect_ok resize --table "$Z/beit_table_7x7_cls.npy" --window 7 --to 14 -o "$WORK/beit.npy"
expect_close "beit table with class token" "$WORK/beit.npy" "$Z/beit_table_14x14_cls.npy" 2e-6
# the class-token entries are carried over exactly
npy_floats "$WORK/beit.npy" | tail -6 >"$WORK/a"
npy_floats "$Z/beit_table_7x7_cls.npy" | tail -6 >"$WORK/b"
expect_same_file "class-token entries unchanged" "$WORK/a" "$WORK/b"
# same window: the table itself
expect_ok resize --table "$T" --window 7x7 --to 7x7 -o "$WORK/same.npy"
"$RPBTOOL" bias --window 7x7 --table "$T" --save-table "$WORK/orig.npy" -o /dev/null
expect_close "identity resize" "$WORK/same.npy" "$WORK/orig.npy" 1e-6
expect_ok resize --table "$T" --window 7x7 --to 12x12 -o "$WORK/t12.safetensors"
expect_ok inspect "$WORK/t12.safetensors"
expect_eq "safetensors output" "$(printf '%s\n' "$out" | sed -n 3p | awk '{ print $2, $4, $5, $6 }')" "relative_position_bias_table 2d 12x12 529"

# --- whole checkpoints ---------------------------------------------------------------------------------
expect_error_free() { :; }
run resize --checkpoint "$Z/tv_swin.safetensors" --to 12x12 -o "$WORK/s12.safetensors"
expect_eq "checkpoint resize status" "$status" "0"
expect_eq "summary" "$err" "rpbtool: resized 8 tensors of $Z/tv_swin.safetensors for a 12x12 window"
expect_ok inspect "$WORK/s12.safetensors"
expect_eq "every table at 12x12 (index checked)" "$(printf '%s\n' "$out" | awk 'NR > 2 { printf "%s %s %s|", $5, $6, $7 }')" \
    "12x12 529 2|12x12 529 2|12x12 529 4|12x12 529 4|"
expect_eq "tensor count kept" "$(printf '%s\n' "$out" | head -1)" "# $WORK/s12.safetensors: 67 tensors, 4 relative position biases"
# a resized checkpoint computes attention at the new window
expect_ok attn --weights "$WORK/s12.safetensors" --prefix features.3.0.attn --batch 2 -o "$WORK/a12.npy"
expect_eq "attention at 12x12" "$(npy_shape "$WORK/a12.npy")" "'shape': (2, 144, 32)"
# back to 7x7 restores the index buffers bit for bit (they depend on the window only)
"$RPBTOOL" resize --checkpoint "$WORK/s12.safetensors" --to 7x7 -o "$WORK/s7.safetensors" -q
expect_eq "same size after the round trip" "$(stat -c %s "$WORK/s7.safetensors")" "$(stat -c %s "$Z/tv_swin.safetensors")"
expect_ok resize --checkpoint "$Z/tv_swin_v2.safetensors" --to 12 -o "$WORK/v2.safetensors" -q
expect_ok inspect "$WORK/v2.safetensors"
expect_eq "swin v2 windows" "$(printf '%s\n' "$out" | awk 'NR > 2 { printf "%s %s|", $5, $6 }')" "12x12 529|12x12 529|12x12 529|12x12 529|"
expect_ok attn --weights "$WORK/v2.safetensors" --prefix features.1.0.attn -o "$WORK/v2a.npy"
expect_eq "swin v2 attention at 12x12" "$(npy_shape "$WORK/v2a.npy")" "'shape': (1, 144, 16)"
# BEiT (class token) and HF names
expect_ok resize --checkpoint "$Z/hf_beit.safetensors" --to 6x6 -o "$WORK/beit6.safetensors" -q
expect_ok attn --weights "$WORK/beit6.safetensors" --prefix beit.encoder.layer.0.attention -o "$WORK/b6.npy"
expect_eq "beit at 6x6 + cls" "$(npy_shape "$WORK/b6.npy")" "'shape': (1, 37, 16)"
# metadata kept
expect_ok resize --checkpoint "$Z/rpbtool_vit.safetensors" --to 5x5 -o "$WORK/vit5.safetensors" -q
expect_eq "metadata kept" "$(head -c 300 "$WORK/vit5.safetensors" | tr -d '\0' | grep -ao '"rpbtool.config"' | head -1)" '"rpbtool.config"'

# --- errors: one line, nothing written ------------------------------------------------------------------
expect_error 2 "resize needs exactly one of --table FILE[:NAME] and --checkpoint FILE" resize --to 12 -o "$WORK/x.npy"
expect_error 2 "resize needs --to HxW, the new window" resize --table "$T" --window 7 -o "$WORK/x.npy"
expect_error 2 "--to 0x3: each side must be a positive integer, e.g. 7 or 7x7" resize --table "$T" --window 7 --to 0x3 -o "$WORK/x.npy"
expect_error 2 "--table needs --window HxW, the window the table was trained at" resize --table "$T" --to 12 -o "$WORK/x.npy"
expect_error 2 "-o $WORK/x.npy: --checkpoint writes a .safetensors file (expected a name ending in .safetensors)" \
    resize --checkpoint "$Z/tv_swin.safetensors" --to 12 -o "$WORK/x.npy"
expect_error 1 "$Z/hf_t5.safetensors: no 2d window table to resize (inspect lists its biases)" \
    resize --checkpoint "$Z/hf_t5.safetensors" --to 12 -o "$WORK/x.safetensors"
expect_error 1 "$Z/bad_index.safetensors: features.1.0.attn.relative_position_index does not match the table features.1.0.attn.relative_position_bias_table of 169 entries: 49 tokens per window; 2d 7x7 (differs at token pair (0, 5): 78 vs 79)" \
    resize --checkpoint "$Z/bad_index.safetensors" --to 12 -o "$WORK/x.safetensors"
expect_error 2 "--to 65x64: the index buffer features.1.0.attn.relative_position_index would hold 4160^2 entries; at most 4096 tokens per window" \
    resize --checkpoint "$Z/tv_swin.safetensors" --to 65x64 -o "$WORK/x.safetensors"
run resize --table "$T" --window 8x8 --to 12 -o "$WORK/x.npy"
expect_eq "wrong --window" "$status" "1"
[ -e "$WORK/x.npy" ] || [ -e "$WORK/x.safetensors" ] && fail "an error left output behind" || pass

finish
