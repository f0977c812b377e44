// Private: how each model family names an attention block's tensors, and how a block finds
// its bias table (checkpoint.cpp, checkpoint_attention.cpp).
#pragma once

#include "rpb/safetensors_file.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rpb::detail {

/// The projection tensors of one attention block; names are full tensor names, empty when
/// absent (a missing bias is zero).
struct Projections {
    std::string family; ///< "qkv", "q,k,v", "query,key,value", "q_proj,k_proj,v_proj", ""
    std::string qkv_weight, qkv_bias; ///< fused (qkv family)
    std::string q_bias, v_bias;       ///< BEiT's separate q and v biases (qkv family)
    std::string q_weight, k_weight, v_weight, o_weight; ///< split families
    std::string q_bias_split, k_bias, v_bias_split, o_bias;
};

/// The projections of the block at `dir` ("" or ending with '.'): timm/torchvision `qkv` +
/// `proj`, HF T5 `q,k,v,o`, torchscale/zeta `q_proj,k_proj,v_proj,out_proj`, HF Swin/BEiT
/// `self.|attention.{query,key,value}` + `output.dense` (also when `dir` is the inner
/// `self.` / `attention.` module, the output then being beside it).
Projections projections_at(const SafetensorsFile& file, const std::string& dir);

/// The attention block (no trailing dot) a table at `dir` belongs to: the HF `attention`
/// module for HF names, the table's own module otherwise.
std::string block_prefix(const SafetensorsFile& file, const std::string& dir);

/// The bias tensor (table, T5 embedding, or cpb_mlp.0.weight) block `prefix` uses: its own,
/// else HF T5's block 0 of the same stack, else a shared one higher up (HF BEiT
/// encoder.relative_position_bias, timm rel_pos_bias, torchscale relative_position).
/// Empty when there is none.
std::string table_for_block(const SafetensorsFile& file, const std::string& prefix);

/// Every attention block of the file (block_prefix form), in name order.
std::vector<std::string> attention_blocks(const SafetensorsFile& file);

/// For every bias tensor, how many attention blocks of the file use it.
std::map<std::string, int64_t> table_users(const SafetensorsFile& file);

} // namespace rpb::detail
