// Private pieces shared by the fused attention, its reference and the weight helpers.
#pragma once

#include "rpb/attention.hpp"

#include <cstdint>
#include <functional>
#include <vector>

namespace rpb::detail {

/// Sizes of one attention call, after validation.
struct AttentionDims {
    int64_t batch = 0;
    int64_t tokens = 0;
    int64_t embed = 0;
    int64_t heads = 0;
    int64_t head_dim = 0;
    float scale = 1.0f;
};

/// Validates the input's shape, the weights, the index and the config together (the errors
/// documented in attention.hpp) and returns the sizes.
AttentionDims check_attention_setup(const Shape& x_shape, const AttentionWeights& weights,
                                    const EntryIndex& index, const AttentionConfig& config);

/// check_attention_setup, and x's values finite.
AttentionDims check_attention_inputs(const FloatTensor& x, const AttentionWeights& weights,
                                     const EntryIndex& index, const AttentionConfig& config);

/// The references' output projection in double: out (tokens, E) = merged (tokens, E) @
/// proj_weight^T + proj_bias, rounded to float32 once.
void project_out_double(const double* merged, int64_t tokens, const AttentionWeights& weights,
                        float* out);

/// Throws rpb::UsageError unless every entry of `heads` is a head of dims (0 to dims.heads - 1):
/// the heads a probability stream is asked for.
void check_heads(const AttentionDims& dims, const std::vector<int64_t>& heads);

/// Throws rpb::Error unless values[0, count) are finite, naming the first that is not by
/// its flat index in the whole input (`flat_offset` is that of values[0]).
void check_finite_input(const float* values, int64_t count, int64_t flat_offset);

inline constexpr int64_t kBlockKeys = 64;
inline constexpr int64_t kBlockQueries = 128;

/// Packed operands of the fused kernel, one slab per (batch, head) pair `bh`:
/// q: (tokens padded to 4, dpad), already multiplied by the scale;
/// kt: key blocks of kBlockKeys keys, each stored transposed as (dpad, kBlockKeys);
/// v: (tokens padded to kBlockKeys, dpad). dpad = head_dim rounded up to 16; every padding
/// value is zero, so padded lanes add nothing to dot products.
struct PackedHeads {
    int64_t dpad = 0;
    int64_t q_rows = 0; ///< tokens rounded up to 4
    int64_t k_rows = 0; ///< tokens rounded up to kBlockKeys
    std::vector<float> q;
    std::vector<float> kt;
    std::vector<float> v;

    float* q_slab(int64_t bh) { return q.data() + bh * q_rows * dpad; }
    float* kt_slab(int64_t bh) { return kt.data() + bh * k_rows * dpad; }
    float* v_slab(int64_t bh) { return v.data() + bh * k_rows * dpad; }
};

/// One kernel worker's scratch: a tile of logits and the running softmax state.
struct KernelWorkspace {
    std::vector<float> s;     ///< (kBlockQueries, kBlockKeys) logits, then probabilities
    std::vector<float> o;     ///< (kBlockQueries, dpad) unnormalised output rows
    std::vector<float> m;     ///< running row maximum
    std::vector<float> l;     ///< running row sum
    std::vector<float> alpha; ///< per-row rescale of o for the current key block
    std::vector<float> sum;   ///< per-row sum of the current block's probabilities (first maxima)
};

/// Per-worker buffers of the grouped (many-window) path, kept between calls when the caller
/// holds an AttentionWorkspace.
struct GroupBuffers {
    std::vector<PackedHeads> packs;
    std::vector<std::vector<float>> merged;
    std::vector<std::vector<float>> input; ///< the group's input rows, when read
    std::vector<std::vector<float>> qkv;   ///< the group's (rows, 3E) projection
    std::vector<std::vector<KernelWorkspace>> kernel;
};

/// The bias source of the kernel. Toeplitz maps (t5): per head the q + k - 1 biases along
/// the diagonals, bias(i, j) = diag[h * diag_len + j - i + N - 1]. Dense maps: the table
/// transposed to (H, entries), gathered through the index rows.
struct BiasSource {
    bool toeplitz = false;
    int64_t diag_len = 0;
    std::vector<float> diag;
    std::vector<float> table_t;
    int64_t entries = 0;
    const EntryIndex* index = nullptr;
};

BiasSource make_bias_source(const FloatTensor& table, const EntryIndex& index, int64_t heads);

/// Worker threads for `items` work items: `threads` (0: one per hardware thread), at most
/// one per item, at least one.
int64_t worker_count(int threads, int64_t items);

/// Calls fn(item, worker) for every item in [0, items) on `workers` threads (worker 0 is the
/// caller), handing items out in order from a shared counter. Which worker runs an item
/// varies; what an item computes must not depend on it. fn must not throw.
void parallel_for(int64_t items, int64_t workers,
                  const std::function<void(int64_t item, int64_t worker)>& fn);

/// A part of the kernel's work, for probabilities streamed a few query blocks at a time:
/// only the (batch, head) pair `bh` and its query blocks [first_block, first_block + blocks).
/// Every item computes what it computes in a whole run, so the rows are the same bits.
struct KernelSlice {
    int64_t bh = 0;
    int64_t first_block = 0;
    int64_t blocks = 0;
};

/// Runs the tiled kernel over every (batch, head, query block) with `threads` workers
/// (0: one per hardware thread). Writes merged heads into `merged` (B, N, E) and, when
/// `probs` is not null, the probabilities into the zero-filled (B, H, N, N) buffer.
/// With a `slice`, only its items run and `probs` is the zero-filled (rows, N) buffer of
/// the slice's query rows, from query first_block * kBlockQueries on. `merged` may be null
/// when only the probabilities are wanted.
/// `spaces` holds the workers' scratch (grown as needed; kept by callers that call often).
void run_attention_kernel(PackedHeads& packed, const BiasSource& bias, const AttentionDims& dims,
                          bool causal, int threads, float* merged, float* probs,
                          std::vector<KernelWorkspace>& spaces, const KernelSlice* slice = nullptr);

} // namespace rpb::detail
