// The options of `rpbtool attn`, and running the layer they describe; shared with
// `rpbtool visualize --what attn`.
#pragma once

#include "cli_common.hpp"
#include "rpb/attention.hpp"
#include "rpb/npy.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"
#include "table_options.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace rpb::cli {

struct AttnOptions {
    SchemeOptions scheme;
    TableOptions table; ///< --heads, --table, --table-layout, --seed
    int64_t embed_dim = 96;
    std::string input;   ///< .npy x; empty: random normal input from --seed
    int64_t tokens = 0;  ///< random input length; 0: the scheme's
    int64_t batch = 1;   ///< random input batch
    std::string weights; ///< .safetensors; empty: seeded init
    std::string prefix;  ///< names inside a whole checkpoint
    std::string save_weights;
    double scale = 0; ///< given when scale_option->count()

    CLI::Option* embed_dim_option = nullptr;
    CLI::Option* tokens_option = nullptr;
    CLI::Option* batch_option = nullptr;
    CLI::Option* scale_option = nullptr;
};

void add_attn_options(CLI::App& command, AttnOptions& options);

/// One layer, ready to run: its resolved configuration, weights and input.
struct AttnSetup {
    Scheme scheme;
    int64_t embed_dim = 0;
    int64_t heads = 0;
    float scale = 0;
    bool input_was_2d = false; ///< output keeps the input's rank
    AttentionWeights weights;
    AttentionConfig config;
    Shape x_shape; ///< (B, N, E)
    FloatTensor x; ///< the input, unless `reader` is set
    /// Set when the input is a file streamed piece by piece (many windows); its values
    /// have all been checked already.
    std::unique_ptr<NpyFileReader> reader;
    /// Swin V2 (a cpb_mlp block): cosine attention with these per-head logit scales.
    std::optional<FloatTensor> logit_scale;
    std::string describe() const;
};

/// How prepare_attention treats a regular --input file of many windows
/// (attention_group_items > 0); other inputs are always read whole.
enum class InputReading {
    whole,            ///< read into AttnSetup::x
    streamed_checked, ///< left in `reader`, every value checked first (output shows partial
                      ///< writes: a bad value must fail before the first byte)
    streamed,         ///< left in `reader`; bad values fail as the pieces are read
};

/// Resolves scheme, weights, table and input.
/// Throws UsageError / rpb::Error naming the option or file.
AttnSetup prepare_attention(const AttnOptions& options, InputReading reading);

/// A layer's run: its setup and results.
struct AttnRun : AttnSetup {
    FloatTensor output; ///< (B, N, E)
    FloatTensor probs;  ///< (B, H, N, N) when asked for
};

/// prepare_attention, then the fused kernel on the whole input.
AttnRun run_attention(const AttnOptions& options, bool want_probs);

} // namespace rpb::cli
