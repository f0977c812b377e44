// Swin Transformer V2's continuous position bias and cosine attention (math.md section 5;
// torchvision ShiftedWindowAttentionV2, the official Swin V2 code).
//
//   coords  (dy, dx) for dy in [-(Wh-1), Wh-1], dx likewise, row-major like the V1 table;
//           each divided by (P - 1) of the pretrained window P (the window itself by default),
//           times 8, then sign(x) * log2(1 + |x|) / log2(8)
//   table   16 * sigmoid(W2 @ relu(W0 @ coords + b0))          (entries, heads)
//   logits  cos(q_i, k_j) * exp(min(logit_scale[h], log 100)) + table[index(i, j), h]
//           with the k third of qkv_bias taken as zero
#pragma once

#include "rpb/attention.hpp"
#include "rpb/index.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace rpb {

/// The MLP: w0 (D, 2), b0 (D), w2 (heads, D); D = 512 in every published model.
struct CpbMlp {
    FloatTensor w0;
    FloatTensor b0;
    FloatTensor w2;
    int64_t heads() const { return w2.rank() == 2 ? w2.dim(0) : 0; }
};

/// Throws rpb::Error "<what>: cpb_mlp.N.weight has shape ..., expected ..." unless the
/// shapes fit each other as above.
void check_cpb_mlp(const CpbMlp& mlp, std::string_view what);

/// The MLP's input: (2Wh-1, 2Ww-1, 2) float32 coordinates (dy, dx) mapped as above, exactly
/// torchvision's relative_coords_table buffer (without its leading 1). Pretrained sides 0
/// mean the window itself. Throws UsageError for a side below 1.
FloatTensor cpb_coords(int64_t window_h, int64_t window_w, int64_t pretrained_h = 0,
                       int64_t pretrained_w = 0);

/// The (2Wh-1)(2Ww-1) x heads bias table the MLP makes for a Wh x Ww window, coordinates
/// normalised by the pretrained window (pretrained_h/w = 0: the window itself; a side of 1
/// divides by 1). Computed in double, rounded once. Throws as check_cpb_mlp, and
/// rpb::UsageError for a window side below 1.
/// Example: cpb_table(mlp, 8, 8) -> (225, heads), values in (0, 16).
FloatTensor cpb_table(const CpbMlp& mlp, int64_t window_h, int64_t window_w,
                      int64_t pretrained_h = 0, int64_t pretrained_w = 0);

/// Swin V2 window attention of x (B, N, E) with `weights.table` the CPB table above and
/// `logit_scale` of `heads` values (any shape with that many elements). Straightforward
/// double-accumulation loops (windows are small). `probs`, when not null, receives
/// (B, H, N, N). Errors as attention_forward, and rpb::Error when logit_scale has the wrong
/// size or is not finite.
FloatTensor swin_v2_attention(const FloatTensor& x, const AttentionWeights& weights,
                              const FloatTensor& logit_scale, const EntryIndex& index,
                              const AttentionConfig& config, FloatTensor* probs);

/// The probabilities swin_v2_attention(x) gives for batch item 0, bit for bit, a row at a
/// time to `sink` (attention.hpp), head by head in the order of `heads`: memory of one row,
/// never (H, N, N). Errors as swin_v2_attention; rpb::UsageError for a head out of range.
void swin_v2_probabilities(const FloatTensor& x, const AttentionWeights& weights,
                           const FloatTensor& logit_scale, const EntryIndex& index,
                           const AttentionConfig& config, const std::vector<int64_t>& heads,
                           const ProbabilityRows& sink);

} // namespace rpb
