// Multi-head self-attention with relative position bias (Swin `WindowAttention`, T5
// self-attention). math.md section 4.
//
// Shapes (row-major, dimension 0 slowest): x (B, N, E); H heads of d = E / H channels;
// qkv_weight (3E, E) ordered [q | k | v], each block head-major (rows h*d .. h*d+d-1 are
// head h); qkv_bias (3E); proj_weight (E, E); proj_bias (E); table (entries, H), read as
// bias[h, i, j] = table[index(i, j), h].
//
//   logits = scale * q @ k^T + bias        (causal: key j > query i is masked out)
//   out    = merge_heads(softmax(logits) @ v) @ proj_weight^T + proj_bias      (B, N, E)
#pragma once

#include "rpb/index.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rpb {

/// The learned parameters of one attention layer (shapes above).
struct AttentionWeights {
    FloatTensor qkv_weight;
    FloatTensor qkv_bias;
    FloatTensor proj_weight;
    FloatTensor proj_bias;
    FloatTensor table;
};

struct AttentionConfig {
    int64_t heads = 12;
    /// Logit scale; absent means head_dim^-0.5 (Swin). T5 uses 1.
    std::optional<float> scale = std::nullopt;
    /// Decoder self-attention: query i sees keys j <= i only.
    bool causal = false;
    /// Worker threads of the fused kernel; 0 means one per hardware thread. Results do not
    /// depend on it: every output element is computed by one work item in a fixed order.
    int threads = 0;
};

/// Fused attention: tiled like flash attention (online softmax over 64-key blocks, one work
/// item per batch, head and 128-query block), never materialises the (H, N, N) bias or logits.
/// Threads: config.threads workers run the projections (rpb::gemm, one row chunk per call;
/// for many small windows the kernel's own tile product, group by group) and the kernel, on
/// the kernel path of rpb/cpu.hpp. `index` must be an N x N map whose entries are
/// rows of `weights.table`; the same bias applies to every batch item (Swin windows).
/// When `probs` is not null it receives the probabilities, shape (B, H, N, N).
/// Returns out, shape (B, N, E).
/// Throws rpb::UsageError when E is not divisible by the heads, the heads are not positive or
/// the scale is not finite; rpb::Error when x is not (B, N, E) with N = index.rows(), when a
/// weight's shape does not fit (naming expected and found shapes), or when x or a weight holds
/// NaN or infinity.
/// Example: attention_forward(x, init_weights(96, 3, 169, 0), EntryIndex(swin7x7), {.heads = 3},
///          nullptr)
FloatTensor attention_forward(const FloatTensor& x, const AttentionWeights& weights,
                              const EntryIndex& index, const AttentionConfig& config,
                              FloatTensor* probs);

/// Batch items per group when attention_forward computes a batch of `batch` items of
/// `tokens` tokens as independent groups of whole windows (many small windows: Swin), or 0
/// when it computes the batch as one. Depends on the shapes only (never on threads): a run
/// of whole groups computed alone by attention_forward_part gives the same bits.
/// Example: attention_group_items(256, 49) == 5 (5 windows of 49 rows per projection).
int64_t attention_group_items(int64_t batch, int64_t tokens);

namespace detail {
struct GroupBuffers;
}

/// Buffers that successive attention_forward_part calls share (a streamed run makes many):
/// reused, they save an allocation and its first-touch page faults per call. One call at a
/// time per workspace.
class AttentionWorkspace {
public:
    AttentionWorkspace();
    ~AttentionWorkspace();
    AttentionWorkspace(const AttentionWorkspace&) = delete;
    AttentionWorkspace& operator=(const AttentionWorkspace&) = delete;

    /// The buffers (for the library's own use).
    detail::GroupBuffers& buffers() { return *buffers_; }

private:
    std::unique_ptr<detail::GroupBuffers> buffers_;
};

/// Reads batch items [first, first + count) of a (B, N, E) input into `out` (count * N * E
/// floats), e.g. through NpyFileReader::read_float32, throwing rpb::Error when it cannot
/// (a read error, a NaN, with the reader's own message). Called from several threads at
/// once for disjoint items.
using InputItems = std::function<void(int64_t first, int64_t count, float* out)>;

/// The output rows of batch items [first, first + count) of attention_forward(x) for a batch
/// of `batch` items, from x_part (count, N, E) holding just those items: bit for bit the
/// same values, written as (count, N, E) floats to `out`. For streaming a large batch of
/// windows through memory piece by piece. `first` must be a multiple of
/// g = attention_group_items(batch, N) > 0 and `count` one too, unless the part ends the
/// batch; otherwise rpb::Error. Other errors as attention_forward (positions in x_part).
/// `workspace`, when given, keeps the buffers for the next call.
void attention_forward_part(const FloatTensor& x_part, int64_t first, int64_t batch,
                            const AttentionWeights& weights, const EntryIndex& index,
                            const AttentionConfig& config, float* out,
                            AttentionWorkspace* workspace = nullptr);

/// attention_forward_part for items [first, first + count) of a (B, N, E) input of shape
/// `x_shape` that is read, not held: each worker reads its next group of windows through
/// `read_items` into its own small buffer and computes it at once, so no buffer for the whole
/// part exists and reading runs on every thread. Bit for bit the rows of attention_forward.
/// Errors as attention_forward_part; a read error or a NaN in the items read is thrown for
/// the first group in batch order that has one (the same error whatever the threads).
void attention_forward_read(const InputItems& read_items, const Shape& x_shape, int64_t first,
                            int64_t count, const AttentionWeights& weights, const EntryIndex& index,
                            const AttentionConfig& config, float* out,
                            AttentionWorkspace* workspace = nullptr);

/// Receives attention probabilities as they are computed: `rows` query rows of head `head`
/// of batch item 0 from query `first_row` on, (rows, N) floats row-major, valid only during
/// the call.
using ProbabilityRows =
    std::function<void(int64_t head, int64_t first_row, int64_t rows, const float* values)>;

/// The probabilities attention_forward(x) gives for batch item 0, bit for bit, handed to
/// `sink` head by head in the order of `heads`, each head's rows in query order: to draw
/// the attention of a sequence of any length. Memory: x's projections and a few query blocks
/// of rows (about 16 MB, or one 128-row block per worker for very long sequences), never
/// (H, N, N). The other batch items are checked but not computed (many small windows: the
/// first group of windows is). Errors as attention_forward; rpb::UsageError for a head out
/// of range.
void attention_probabilities(const FloatTensor& x, const AttentionWeights& weights,
                             const EntryIndex& index, const AttentionConfig& config,
                             const std::vector<int64_t>& heads, const ProbabilityRows& sink);

/// The plain, obviously-correct computation of the same function: materialised bias and
/// logits per (batch, head), double accumulation everywhere. Same contract and errors as
/// attention_forward; meant for tests and small inputs.
FloatTensor attention_reference(const FloatTensor& x, const AttentionWeights& weights,
                                const EntryIndex& index, const AttentionConfig& config,
                                FloatTensor* probs);

/// Throws rpb::Error naming expected and found shapes unless every weight fits embed_dim,
/// heads and entries, and rpb::Error when a weight holds NaN or infinity. UsageError when
/// embed_dim is not divisible by heads.
void validate_weights(const AttentionWeights& weights, int64_t embed_dim, int64_t heads,
                      int64_t entries);

/// Weights taken from a checkpoint's tensors, under `prefix` ("" or e.g. "layers.0.attn",
/// with or without the trailing dot). Recognised names:
/// - Swin/timm: qkv.weight, qkv.bias (absent when the model has qkv_bias=False: zeros; BEiT's
///   q_bias and v_bias are accepted instead, k bias zero), proj.weight, proj.bias,
///   relative_position_bias_table.
/// - HF T5: q.weight, k.weight, v.weight, o.weight (no biases: zeros),
///   relative_attention_bias.weight (num_buckets, heads).
/// When `require_table` is false a missing table leaves `table` empty (the caller supplies one).
/// Throws rpb::Error listing the names present under the prefix when a required name is
/// missing, and naming expected and found shapes when a tensor does not fit.
AttentionWeights weights_from_tensors(const std::map<std::string, FloatTensor>& tensors,
                                      const std::string& prefix, int64_t embed_dim, int64_t heads,
                                      int64_t entries, bool require_table = true);

/// Deterministic initialisation, identical on every machine and thread count (random.hpp):
/// Linear weights and biases uniform(-1/sqrt(E), 1/sqrt(E)) like nn.Linear, drawn as one
/// uniform_values run of stream random_stream::weights in the order qkv_weight, qkv_bias,
/// proj_weight, proj_bias (row-major each); the table is init_table(entries, heads,
/// trunc_normal, 0.02, seed), the same table `rpbtool bias --seed` makes.
/// Throws rpb::UsageError when embed_dim is not divisible by heads or a size is not positive.
AttentionWeights init_weights(int64_t embed_dim, int64_t heads, int64_t entries, uint64_t seed);

} // namespace rpb
