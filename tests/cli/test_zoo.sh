# End-to-end tests of whole checkpoints of every family: inspect, attn --weights --prefix,
# bias --cpb (Swin V2) against the goldens of scripts/make_zoo_goldens.py (torchvision 0.14,
# and checkpoints under HF / timm / torchscale names built from the same weights), and
# malformed files.
source "$(dirname "$0")/lib.sh" "$@"
Z=$GOLDEN/zoo


# --- inspect: every family's tables, with block, scheme, heads ---------------------------------
expect_ok inspect "$Z/tv_swin.safetensors"
expect_eq "swin header" "$(printf '%s\n' "$out" | head -1)" "# $Z/tv_swin.safetensors: 67 tensors, 4 relative position biases"
expect_eq "swin row" "$(printf '%s\n' "$out" | sed -n 3p | awk '{ print $1, $2, $3, $4, $5, $6, $7, $8, $9 }')" \
    "features.1.0.attn relative_position_bias_table table 2d 7x7 169 2 qkv 1"
expect_eq "swin heads per stage" "$(printf '%s\n' "$out" | awk 'NR > 2 { printf "%s ", $7 }')" "2 2 4 4 "
expect_ok inspect "$Z/tv_swin.safetensors" --format json
for key in '"name":"features.3.1.attn.relative_position_bias_table"' '"prefix":"features.3.1.attn"' \
    '"kind":"table"' '"type":"2d"' '"window":[7,7]' '"cls_token":false' '"num_buckets":null' \
    '"causal":false' '"entries":169' '"heads":4' '"attention":"qkv"' '"command":"inspect"'; do
    case "$out" in *"$key"*) pass ;; *) fail "inspect json lacks $key" ;; esac
done
# scheme column of each family (fields 4-5 of the first table row)
scheme_of() { "$RPBTOOL" inspect "$Z/$1" | sed -n "${2:-3}p" | awk '{ print $4, $5 }'; }
expect_eq "swin v2 cpb" "$("$RPBTOOL" inspect "$Z/tv_swin_v2.safetensors" | sed -n 3p | awk '{ print $2, $3, $4, $5, $6 }')" "cpb_mlp cpb 2d 8x8 225"
expect_eq "hf swin" "$(scheme_of hf_swin.safetensors)" "2d 7x7"
expect_eq "hf beit (index with class token)" "$(scheme_of hf_beit.safetensors)" "2d 4x4+cls"
expect_eq "timm beit" "$(scheme_of timm_beit.safetensors)" "2d 4x4+cls"
expect_eq "rpbtool vit (rpbtool.config)" "$(scheme_of rpbtool_vit.safetensors)" "2d 4x4+cls"
expect_eq "hf t5 decoder causal" "$("$RPBTOOL" inspect "$Z/hf_t5.safetensors" | sed -n 3p | awk '{ print $1, $4, $5, $6, $10 }')" \
    "decoder.block.0.layer.0.SelfAttention t5 32 causal 2"
expect_eq "hf t5 encoder" "$(scheme_of hf_t5.safetensors 4)" "t5 32"
expect_eq "shared beit table used by 2 blocks" "$("$RPBTOOL" inspect "$Z/hf_beit_shared.safetensors" | sed -n 3p | awk '{ print $1, $9 }')" "beit.encoder 2"
expect_eq "torchscale shared" "$("$RPBTOOL" inspect "$Z/torchscale.safetensors" | sed -n 3p | awk '{ print $1, $4, $5, $9 }')" \
    "encoder.relative_position t5 32 2"
# BF16 table, I32 index, BOOL/U8/F16 tensors beside it
expect_ok inspect "$Z/dtypes.safetensors" --format json
case "$out" in *'"window":[7,7]'*'"scheme_from":"index"'* | *'"scheme_from":"index"'*'"window":[7,7]'*) pass ;; *) fail "dtypes: $out" ;; esac
expect_ok inspect "$Z/hf_swin.safetensors" -o "$WORK/i.json"
case "$(cat "$WORK/i.json")" in '{"command":"inspect"'*) pass ;; *) fail "-o .json gives json" ;; esac

# --- inspect --structure: a row of numbers per head of every window table, none for t5 ---------
expect_ok inspect "$Z/rpbtool_vit.safetensors" --structure
expect_eq "structure header" "$(printf '%s\n' "$out" | grep '^block ' | tail -1 | awk '{ print $1, $2, $3, $4, $5, $6, $7, $8 }')" \
    "block head self locality row-col mirror period cls->tok"
expect_eq "structure rows: 2 blocks x 2 heads" "$(printf '%s\n' "$out" | awk '$2 ~ /^[0-9]+$/ && NF == 10 { printf "%s:%s ", $1, $2 }')" \
    "blocks.0.attn:0 blocks.0.attn:1 blocks.1.attn:0 blocks.1.attn:1 "
# correlations lie in [-1, 1]; a 2d table has no period; the class token's three entries are there
expect_eq "structure ranges" "$(printf '%s\n' "$out" | awk '$2 ~ /^[0-9]+$/ && NF == 10 { if ($4 < -1 || $4 > 1 || $6 < -1 || $6 > 1 || $7 != "-" || $8 == "-") bad = 1 } END { print bad + 0 }')" "0"
# An rpbtool rpb-1d model (12x12 images, a 3x3 grid of patches, class token first): its config
# says a row is 3 patches, so each head has a period in [-1, 1]; no row-col, no class entries.
expect_ok inspect "$GOLDEN/vit/rpb1d_cls/model.safetensors" --structure
expect_eq "rpb-1d structure: period, and no row-col or class entries" \
    "$(printf '%s\n' "$out" | awk '$2 ~ /^[0-9]+$/ && NF == 10 { ok = ($5 == "-" && $7 >= -1 && $7 <= 1 && $8 == "-"); printf "%s:%s:%d ", $1, $2, ok }')" \
    "blocks.0.attn:0:1 blocks.0.attn:1:1 blocks.1.attn:0:1 blocks.1.attn:1:1 "
# HF block names are longer than timm's: the block column widens, so every row lines up.
expect_ok inspect "$Z/hf_swin.safetensors" --structure
expect_eq "structure columns line up under long block names" \
    "$(printf '%s\n' "$out" | sed -n '/^# per head/,$p' | grep -v '^#' | awk '{ print length($0) }' | sort -u | wc -l)" "1"
expect_eq "structure rows of hf_swin" \
    "$(printf '%s\n' "$out" | sed -n '/^# per head/,$p' | grep -c '^swin.encoder.layers.0.blocks.0.attention ')" "2"
expect_ok inspect "$Z/rpbtool_vit.safetensors" --structure --format json
for key in '"structure":[{"cls_to_cls":' '"locality":' '"mirror":' '"row_minus_column":' '"row_period":null' '"self":'; do
    case "$out" in *"$key"*) pass ;; *) fail "inspect --structure json lacks $key" ;; esac
done
expect_ok inspect "$Z/hf_t5.safetensors" --structure
expect_eq "t5 has no structure rows" "$(printf '%s\n' "$out" | grep -c 'locality')" "0"
expect_ok inspect "$Z/hf_t5.safetensors" --structure --format json
case "$out" in *'"structure":null'*) pass ;; *) fail "t5 structure is null in json" ;; esac
expect_ok inspect "$Z/tv_swin.safetensors"
case "$out" in *locality*) fail "structure without --structure" ;; *) pass ;; esac

# --- attn --weights --prefix, every family, against the references -------------------------------
attn_case() { # WHAT FILE PREFIX INPUT GOLDEN
    expect_ok attn --weights "$Z/$2" --prefix "$3" --input "$Z/$4" -o "$WORK/o.npy"
    expect_close "$1" "$WORK/o.npy" "$Z/$5" 1e-5
}
attn_case "torchvision swin_t features.1.0" tv_swin.safetensors features.1.0.attn tv_swin_x.npy tv_swin_out.npy
attn_case "torchvision prefix with dot" tv_swin.safetensors features.1.0.attn. tv_swin_x.npy tv_swin_out.npy
attn_case "hf swin" hf_swin.safetensors swin.encoder.layers.0.blocks.0.attention tv_swin_x.npy tv_swin_out.npy
attn_case "hf swin inner module" hf_swin.safetensors swin.encoder.layers.0.blocks.0.attention.self tv_swin_x.npy tv_swin_out.npy
attn_case "q_proj names with a swin table" ts_swin_table.safetensors encoder.layers.0.self_attn tv_swin_x.npy tv_swin_out.npy
attn_case "swin v2 cosine attention" tv_swin_v2.safetensors features.1.0.attn tv_swin_v2_x.npy tv_swin_v2_out.npy
attn_case "hf beit" hf_beit.safetensors beit.encoder.layer.0.attention beit_x.npy beit_out.npy
attn_case "hf beit shared table" hf_beit_shared.safetensors beit.encoder.layer.1.attention beit_x.npy beit_out.npy
attn_case "timm beit q_bias v_bias" timm_beit.safetensors blocks.0.attn beit_x.npy beit_out.npy
attn_case "hf t5 block 1 reuses block 0" hf_t5.safetensors encoder.block.1.layer.0.SelfAttention t5_x.npy t5_encoder_out.npy
attn_case "hf t5 decoder causal" hf_t5.safetensors decoder.block.1.layer.0.SelfAttention t5_x.npy t5_decoder_out.npy
attn_case "torchscale shared table" torchscale.safetensors encoder.layers.1.self_attn t5_x.npy torchscale_out.npy
# Swin V2 probabilities sum to one; many windows go through the same path
expect_ok attn --weights "$Z/tv_swin_v2.safetensors" --prefix features.3.0.attn --batch 3 -o "$WORK/v2.npy" --probs "$WORK/p.npy"
expect_eq "v2 shapes" "$(npy_shape "$WORK/v2.npy") $(npy_shape "$WORK/p.npy")" "'shape': (3, 64, 32) 'shape': (3, 4, 64, 64)"
# visualize --what attn of the V2 block draws those probabilities of batch 0, bit for bit
expect_ok visualize --what attn --weights "$Z/tv_swin_v2.safetensors" --prefix features.3.0.attn --batch 3 -o "$WORK/v2.html"
expect_ok visualize --input "$WORK/p.npy" -o "$WORK/v2_input.html"
expect_eq "v2 attention drawn" "$(grep -o '"values":"[^"]*"' "$WORK/v2.html" | md5sum)" \
    "$(grep -o '"values":"[^"]*"' "$WORK/v2_input.html" | md5sum)"
expect_ok attn --weights "$Z/rpbtool_vit.safetensors" --prefix blocks.1.attn -o "$WORK/vit.npy"
expect_eq "rpbtool vit tokens" "$(npy_shape "$WORK/vit.npy")" "'shape': (1, 17, 16)"

# --- bias --cpb: the table Swin V2's MLP makes ----------------------------------------------------
expect_ok bias --cpb "$Z/tv_swin_v2.safetensors:features.1.0.attn" --window 8x8 -o "$WORK/cpb.npy"
expect_close "cpb bias" "$WORK/cpb.npy" "$Z/tv_swin_v2_bias.npy" 1e-5
expect_ok bias --cpb "$Z/tv_swin_v2.safetensors:features.1.0.attn" -o "$WORK/cpb_own.npy"
expect_same_file "cpb window from the block's index" "$WORK/cpb.npy" "$WORK/cpb_own.npy"
expect_ok bias --cpb "$Z/tv_swin_v2.safetensors:features.1.0.attn" --window 12x12 --pretrained-window 8x8 -o "$WORK/cpb12.npy"
expect_eq "cpb at a new window" "$(npy_shape "$WORK/cpb12.npy")" "'shape': (2, 144, 144)"
expect_ok visualize --cpb "$Z/tv_swin_v2.safetensors:features.3.0.attn" --window 8x8 -o "$WORK/cpb.png"

# --- visualize --checkpoint: one figure of every table ----------------------------------------------
png_size() { od -An -t u1 -j 16 -N 8 "$1" | awk '{ printf "%d %d", $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'; }
expect_ok visualize --checkpoint "$Z/tv_swin.safetensors" -o "$WORK/ck.png"
expect_eq "png" "$(head -c 4 "$WORK/ck.png" | od -An -c | tr -d ' ')" "211PNG"
expect_ok visualize --checkpoint "$Z/tv_swin.safetensors" --range per-block --cell 4 -o "$WORK/ck4.png"
expect_ok visualize --checkpoint "$Z/tv_swin_v2.safetensors" -o "$WORK/ck2.png"
expect_ok visualize --checkpoint "$Z/hf_t5.safetensors" -o "$WORK/t5.png"
expect_ok visualize --checkpoint "$Z/hf_beit_shared.safetensors" -o "$WORK/beit.png"
# 4 rows (blocks) of up to 4 panels: taller than wide only by the rows; --cell shrinks it
read -r w h <<<"$(png_size "$WORK/ck.png")"
read -r w4 h4 <<<"$(png_size "$WORK/ck4.png")"
[ "$w4" -lt "$w" ] && [ "$h4" -lt "$h" ] && [ "$h" -gt 1000 ] && pass || fail "checkpoint figure sizes $w x $h, $w4 x $h4"
expect_error 2 "--range wide: expected shared or per-block" visualize --checkpoint "$Z/tv_swin.safetensors" --range wide -o "$WORK/none.png"
expect_error 2 "--window does not apply to --checkpoint (it draws every table of the file as it is)" \
    visualize --checkpoint "$Z/tv_swin.safetensors" --window 7 -o "$WORK/none.png"
expect_error 2 "--range goes with --checkpoint" visualize --range per-block -o "$WORK/none.png"
expect_error 1 "$Z/bad_index.safetensors: features.1.0.attn.relative_position_index does not match the table features.1.0.attn.relative_position_bias_table of 169 entries: 49 tokens per window; 2d 7x7 (differs at token pair (0, 5): 78 vs 79)" \
    visualize --checkpoint "$Z/bad_index.safetensors" -o "$WORK/none.png"
expect_error 1 "$Z/t5_x.npy: safetensors header size 379676406402707 exceeds the limit of 100000000 bytes" \
    visualize --checkpoint "$Z/t5_x.npy" -o "$WORK/none.png"

# --- errors: one line, exit 1, nothing written ------------------------------------------------------
expect_error 1 "$Z/tv_swin.safetensors: no attention block at prefix 'features.1': expected qkv.weight (timm, torchvision), q/k/v.weight (HF T5), {self,attention}.query.weight (HF Swin, BEiT) or q_proj.weight (torchscale, zeta) under it; attention blocks under it: features.1.0.attn, features.1.1.attn" \
    attn --weights "$Z/tv_swin.safetensors" --prefix features.1 -o "$WORK/none.npy"
expect_error 1 "$Z/bad_index.safetensors: features.1.0.attn.relative_position_index does not match the table features.1.0.attn.relative_position_bias_table of 169 entries: 49 tokens per window; 2d 7x7 (differs at token pair (0, 5): 78 vs 79)" \
    inspect "$Z/bad_index.safetensors" -o "$WORK/none.txt"
expect_error 1 "$Z/bad_index_size.safetensors: features.1.0.attn.relative_position_index has shape (2400,), expected (N*N,) or (N, N) for N tokens" \
    inspect "$Z/bad_index_size.safetensors"
expect_error 1 "$Z/bad_cpb.safetensors: features.1.0.attn.cpb_mlp: cpb_mlp.0.weight has shape (512, 3), expected (hidden, 2)" \
    inspect "$Z/bad_cpb.safetensors"
expect_error 1 "--cpb $Z/bad_cpb.safetensors:features.1.0.attn: cpb_mlp.0.weight has shape (512, 3), expected (hidden, 2)" \
    bias --cpb "$Z/bad_cpb.safetensors:features.1.0.attn" --window 8x8 -o "$WORK/none.npy"
expect_error 2 "--cpb $Z/tv_swin_v2.safetensors:features.1.0.attn: a Swin V2 bias needs a 2d window without class token (--window HxW), not 1d window 8 (15 entries)" \
    bias --cpb "$Z/tv_swin_v2.safetensors:features.1.0.attn" --window 8
expect_error 2 "--format csv: inspect writes text or json" inspect "$Z/hf_t5.safetensors" --format csv
expect_error 2 "-o $WORK/none.npy: inspect writes text or json (.txt, .json)" inspect "$Z/hf_t5.safetensors" -o "$WORK/none.npy"
expect_error 2 "resize --table needs -o OUT.npy or OUT.safetensors" resize --table "$Z/beit_table_7x7_cls.npy" --window 7 --to 8
head -c 1000 "$Z/tv_swin.safetensors" >"$WORK/truncated.safetensors"
expect_error 1 "$WORK/truncated.safetensors: safetensors header size 5944 exceeds the file (1000 bytes)" inspect "$WORK/truncated.safetensors"
head -c 200000 "$Z/tv_swin.safetensors" >"$WORK/short.safetensors"
run inspect "$WORK/short.safetensors"
expect_eq "truncated data exit" "$status" "1"
case "$err" in *"truncated safetensors data"*) pass ;; *) fail "truncated data: $err" ;; esac
printf '\x00\x00\x00\x00\x00\x01\x00\x00' >"$WORK/huge.safetensors"
expect_error 1 "$WORK/huge.safetensors: safetensors header size 1099511627776 exceeds the limit of 100000000 bytes" inspect "$WORK/huge.safetensors"
# a name with control characters is printed escaped, never raw
printf '{"a\\u0007\\u001b[31m.relative_position_bias_table":{"dtype":"F32","shape":[169,1],"data_offsets":[0,676]}}' >"$WORK/h.json"
n=$(stat -c %s "$WORK/h.json")
{
    printf "$(printf '\\x%02x\\x%02x' $((n & 255)) $((n >> 8)))\x00\x00\x00\x00\x00\x00"
    cat "$WORK/h.json"
    head -c 676 /dev/zero
} >"$WORK/ctl.safetensors"
expect_ok inspect "$WORK/ctl.safetensors"
expect_eq "control characters escaped" "$(printf '%s\n' "$out" | sed -n 3p | awk '{ print $1, $2 }')" 'a\x07\x1b[31m relative_position_bias_table'
expect_eq "no raw escape" "$(printf '%s' "$out" | tr -d '\n' | tr -d '[:print:]' | wc -c)" "0"
expect_ls() { [ -e "$1" ] && fail "$1 was written" || pass; }
expect_ls "$WORK/none.npy"
expect_ls "$WORK/none.txt"
expect_ls "$WORK/none.png"

finish
