// One attention block of a whole checkpoint, under any family's names (checkpoint.hpp lists
// the tables): timm/torchvision Swin and timm ViT/BEiT `qkv` + `proj` (BEiT's `q_bias` /
// `v_bias`), HF Swin/BEiT/Data2Vec `{self,attention}.{query,key,value}` + `output.dense` (key
// without bias), HF T5/mT5/LongT5 `q,k,v,o` (no biases), torchscale/zeta
// `q_proj,k_proj,v_proj,out_proj`; with either table name, found where the model finds it
// (its own, HF T5's block 0, a shared table higher up), or a Swin V2 `cpb_mlp` with
// `logit_scale`.
#pragma once

#include "rpb/attention.hpp"
#include "rpb/checkpoint.hpp"
#include "rpb/safetensors_file.hpp"
#include "rpb/swin_v2.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace rpb {

struct CheckpointAttention {
    std::string prefix; ///< without the trailing dot
    std::string family; ///< projection_family names
    int64_t embed_dim = 0;
    int64_t heads = 0;
    /// Projections as (3E, E) [q | k | v] etc.; absent biases are zeros. `table` is the
    /// block's table when it has one (empty for Swin V2: cpb_table makes it per window).
    AttentionWeights weights;
    std::optional<CheckpointBias> bias; ///< the table or CPB the block uses, when found
    bool swin_v2 = false;               ///< cosine attention with `cpb` and `logit_scale`
    CpbMlp cpb;
    FloatTensor logit_scale;
};

/// Loads the block at `prefix` ("" or e.g. "features.1.0.attn", dot optional), converting
/// only its tensors. `embed_dim` and `heads`, when given, must agree with the file; otherwise
/// E comes from the projections and the heads from the table, the CPB MLP, logit_scale or
/// the "rpbtool.config" metadata (0 when none of them tells). Throws rpb::Error naming the
/// file, the tensor and the expected and found shapes, or listing the names under the prefix
/// when it holds no attention block; UsageError when the heads do not divide E.
CheckpointAttention load_attention(const SafetensorsFile& file, const std::string& prefix,
                                   std::optional<int64_t> embed_dim, std::optional<int64_t> heads);

} // namespace rpb
