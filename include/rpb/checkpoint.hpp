// The relative position biases of a whole checkpoint: which tensors are tables (or Swin V2
// continuous-bias MLPs), the attention block each belongs to, and the scheme each implies.
//
// Names recognised (any prefix): `relative_position_bias_table` (Swin, BEiT, timm, HF Swin
// and BEiT, rpbtool's ViT), `relative_attention_bias.weight` (HF T5/mT5/LongT5, torchscale,
// zeta), `cpb_mlp.0.weight` with `cpb_mlp.0.bias` and `cpb_mlp.2.weight` (Swin V2).
// The scheme of a window table comes from the `relative_position_index` buffer beside it
// (torchvision (N*N,), timm/HF (N, N), BEiT with a class token (N+1, N+1)), checked entry by
// entry; else from the "rpbtool.config" metadata of rpbtool's own models; else from the entry
// count alone: (2W-1)^2 is a W x W window, (2W-1)^2 + 3 one with a class token, anything else
// is reported as ambiguous rather than guessed.
#pragma once

#include "rpb/safetensors_file.hpp"
#include "rpb/scheme.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace rpb {

enum class BiasKind {
    table, ///< a learned (entries, heads) table
    cpb,   ///< Swin V2: the table is 16 * sigmoid(cpb_mlp(coords))
};

std::string_view bias_kind_name(BiasKind kind);

struct ValueStats {
    double min = 0;
    double max = 0;
    double mean = 0;
    double std = 0; ///< population standard deviation
};

/// min/max/mean/std of `values` (count > 0).
ValueStats value_stats(const float* values, int64_t count);

/// One relative position bias of a checkpoint.
struct CheckpointBias {
    std::string name;   ///< the table's tensor name (cpb: the cpb_mlp.0.weight tensor)
    std::string prefix; ///< the attention block it sits in, without the trailing dot
    BiasKind kind = BiasKind::table;
    bool resolved = false; ///< the scheme below is known
    Scheme scheme;         ///< when resolved
    std::string source;    ///< how the scheme was found: "index", "config", "entries", "name"
    int64_t image_row = 0; ///< an rpbtool rpb-1d model's table: patches per image row, which
                           ///< fold its token sequence back into the image (config); else 0
    std::string note;      ///< when not resolved: why (e.g. the window shapes that fit)
    int64_t entries = 0;
    int64_t heads = 0;
    std::string index_name; ///< the relative_position_index beside it, or empty
    std::string attention;  ///< projections beside it: "qkv", "q,k,v", "query,key,value",
                            ///< "q_proj,k_proj,v_proj", or "" when none
    int64_t used_by = 0;    ///< attention blocks that read it (T5 block 0, a shared table)
    ValueStats stats;       ///< of the table's values (cpb: of the table the MLP makes)
};

/// Every bias of `file`, in name order. Reads (and converts) only the tables, MLPs and index
/// buffers, never the other tensors. Throws rpb::Error "<file>: <name>: ..." when a table is
/// not 2-D, an index buffer does not fit its table (shape or values), a CPB MLP has the
/// wrong shapes, or a value is not finite.
std::vector<CheckpointBias> find_biases(const SafetensorsFile& file);

/// The bias tensor `name` described as find_biases does (rpb::Error when it is not one).
CheckpointBias bias_of(const SafetensorsFile& file, const std::string& name);

/// The (entries, heads) table of a resolved bias: the tensor itself, or for Swin V2 what its
/// MLP makes at the bias's window. Throws rpb::Error as find_biases does, and when the bias
/// is not resolved.
FloatTensor bias_table(const SafetensorsFile& file, const CheckpointBias& bias);

/// The projection family under `dir` ("" or ending with '.'): "qkv", "q,k,v",
/// "query,key,value", "q_proj,k_proj,v_proj", or "" when none of them is there.
std::string projection_family(const SafetensorsFile& file, const std::string& dir);

} // namespace rpb
