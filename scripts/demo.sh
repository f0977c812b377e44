#!/usr/bin/env bash
# Builds rpbtool (scripts/setup.sh) and renders the gallery of `rpbtool visualize` pictures
# into out/, with out/index.html showing each picture, its caption and the command that made it.
#   scripts/demo.sh                 build into build/, render into out/
#   OUT_DIR=... BUILD_DIR=... scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
out=${OUT_DIR:-out}
BUILD_DIR=$build_dir scripts/setup.sh
rpbtool=$build_dir/rpbtool
mkdir -p "$out"

html_items=""
# picture NAME "CAPTION" ARGS...: renders out/NAME.png and out/NAME.svg (the same layout) and,
# for heatmaps, the interactive page out/NAME.html (exact values at the cursor) with
# `rpbtool visualize ARGS`; the gallery's picture links to the page (a line plot: its SVG).
picture() {
    local name=$1 caption=$2
    shift 2
    "$rpbtool" visualize "$@" -o "$out/$name.png"
    "$rpbtool" visualize "$@" -o "$out/$name.svg"
    local target=$name.svg links="<a href=\"$name.svg\">SVG</a> &middot; <a href=\"$name.png\">PNG</a>"
    if [[ " $* " != *" --view distance "* ]]; then # a line plot has no page
        "$rpbtool" visualize "$@" -o "$out/$name.html"
        target=$name.html
        links="<a href=\"$name.html\">interactive page</a> (hover a cell for its values) &middot; $links"
    fi
    html_items+="<figure><a href=\"$target\"><img src=\"$name.png\" alt=\"$name\"></a>
<figcaption>$caption<br><code>rpbtool visualize $*</code><br>
$links</figcaption></figure>
"
    echo "demo: $out/$name.png, $out/$name.svg$([[ $target == *.html ]] && echo ", $out/$target")" >&2
}

"$rpbtool" bucket --summary -o "$out/t5_summary.txt"
echo "demo: $out/t5_summary.txt" >&2
# The index maps of the standard configurations in samples/, as NPY for numpy/PyTorch.
for config in samples/*.toml; do
    name=$(basename "$config" .toml)
    [[ $name == vit_* ]] && continue # a training recipe, not a scheme
    "$rpbtool" --config "$config" bucket -o "$out/${name}_map.npy"
    echo "demo: $out/${name}_map.npy" >&2
done

picture t5_buckets "T5 bucket map, 32 buckets, max distance 128, 128 queries and keys: \
16 buckets per direction, exact for distances below 8, logarithmic bands out to 128; keys \
after the query (upper right) read buckets 17-31 (see <a href=\"t5_summary.txt\">\
t5_summary.txt</a>, from <code>rpbtool bucket --summary</code>)." \
    --what bucket
picture t5_bias "T5 bias per head (12 heads, q = k = 128) from a fresh trunc-normal table \
(std 0.02, seed 0): each head paints the bucket bands with its own 32 values. Blue is \
negative, red positive, one shared symmetric range." \
    --what bias
picture t5_bias_distance "The bias of 8 heads against the relative distance key - query, a \
line per head (the T5 paper's figure); the steps are the bucket boundaries." \
    --what bias --heads 8 --view distance
picture t5_bias_strip "The same values for all 12 heads as a colour strip: a row per head, a \
column per distance." \
    --what bias --view strip
picture t5_causal_buckets "Causal (decoder) T5 buckets: keys after the query all share \
bucket 0; 32 buckets cover the past." \
    --what bucket --causal
picture window1d "1D window of 16 (timm RelPosBias-style): entry query - key + 15, a \
Toeplitz matrix, 4 heads of a fresh table." \
    --window 16 --heads 4 --view matrix
picture swin_table "Swin 7x7 window, 3 heads: each head's 13 x 13 table by offset \
(dy, dx) = query - key, centred on (0, 0), as in the Swin paper. A fresh table is noise: \
load a trained one with --table FILE." \
    --window 7x7 --heads 3
picture swin_matrix "The same 7x7 bias as the 49 x 49 matrix the model adds to its \
logits: token r * 7 + c; the 7 x 7 block structure is the row offset." \
    --window 7x7 --heads 3 --view matrix
picture beit_cls_matrix "BEiT 14x14 window with a class token (197 tokens, 732 table \
entries, 3 heads): row and column 0 are the class token's three extra entries." \
    --window 14x14 --cls-token --heads 3 --view matrix
picture swin_attention "Attention probabilities of a 7x7 window layer (E = 96, 3 heads, \
seeded weights, random input): with untrained weights attention is close to uniform \
(1/49 = 0.02)." \
    --what attn --window 7x7 --embed-dim 96 --heads 3

# A short training of the ViT (2 epochs on the first 10,000 Fashion-MNIST images; about a
# minute on 2 cores) and what it learned. The recipe itself is `rpbtool train` (30-45 minutes
# on 2 cores).
if [[ -d /usr/share/datasets/fashion-mnist ]]; then
    rm -rf "$out/vit-run"
    "$rpbtool" train --epochs 2 --limit-train 10000 -o "$out/vit-run" -q
    cp "$out/vit-run/curves.png" "$out/vit_curves.png"
    cp "$out/vit-run/curves.svg" "$out/vit_curves.svg"
    html_items+="<figure><a href=\"vit_curves.png\"><img src=\"vit_curves.png\" alt=\"curves\"></a>
<figcaption>Loss and accuracy of a short ViT training (rpb-2d, 2 epochs on 10,000 images), drawn by
<code>rpbtool train</code> into its run folder.<br><code>rpbtool train --epochs 2 --limit-train 10000 -o vit-run</code></figcaption></figure>
"
    picture vit_tables "What the short training's ViT learned: each block's 13 x 13 relative \
position bias table per head (offset dy, dx = query - key over the 7 x 7 patch grid)." \
        --model "$out/vit-run/model.safetensors"
    picture vit_attention "Where that ViT's class token looks for test image 0, per block and \
head, beside the image." \
        --model "$out/vit-run/model.safetensors" --what attn --image 0
fi

cat >"$out/index.html" <<EOF
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rpbtool gallery</title>
<style>
body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; }
figure { margin: 2em 0; }
img { max-width: 100%; border: 1px solid #ddd; }
figcaption { margin-top: 0.5em; }
code { background: #f4f4f4; }
</style>
</head>
<body>
<h1>rpbtool gallery</h1>
<p>Made by <code>scripts/demo.sh</code> with $("$rpbtool" --version). Every picture is one
<code>rpbtool visualize</code> command, written as PNG and SVG (the same layout); click a
heatmap for its interactive page (the same panels, with each cell's query, key, relative
position, table entry and exact value under the cursor, a head selector and zoom).</p>
$html_items</body>
</html>
EOF
echo "demo: $out/index.html" >&2
echo "demo: gallery written to $out/ (open $out/index.html)"
