// The Vision Transformer with relative position bias of the seed project (math.md section 6):
// its configuration, its parameters (one buffer of named views, timm names), and its three
// verbs: forward, backward, and the model file (safetensors + "rpbtool.config" metadata).
//
// Shapes: B images (C, Hi, Wi) of uint8; patch P; grid Gh x Gw; n = Gh*Gw patch tokens in
// row-major order; T = n (+1 class token at position 0); width E, H heads of d = E / H,
// MLP width M, L blocks, K classes. Activations are (B, T, C) row-major, as rows R = B * T.
#pragma once

#include "rpb/gemm.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"
#include "rpb/thread_pool.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace rpb {

enum class PositionKind { rpb_2d, rpb_1d, t5, ape, none };
enum class PoolKind { cls, mean };

/// "rpb-2d", "rpb-1d", "t5", "ape", "none" / "cls", "mean": the names of --pos and --pool.
std::string position_name(PositionKind pos);
std::string pool_name(PoolKind pool);
/// Throws rpb::UsageError naming the value and the accepted names.
PositionKind parse_position(const std::string& name);
PoolKind parse_pool(const std::string& name);

struct ViTConfig {
    int64_t in_chans = 1;
    int64_t image_h = 28;
    int64_t image_w = 28;
    int64_t patch = 4;
    int64_t num_classes = 10;
    int64_t embed_dim = 64;
    int64_t depth = 6;
    int64_t heads = 4;
    int64_t mlp_dim = 128;
    PositionKind pos = PositionKind::rpb_2d;
    PoolKind pool = PoolKind::cls;
    int64_t num_buckets = 32;         ///< t5
    int64_t max_distance = 128;       ///< t5
    std::vector<float> mean = {0.0f}; ///< per channel, of u8 / 255
    std::vector<float> std = {1.0f};
    std::vector<std::string> classes;

    int64_t grid_h() const { return image_h / patch; }
    int64_t grid_w() const { return image_w / patch; }
    int64_t patches() const { return grid_h() * grid_w(); }
    int64_t tokens() const { return patches() + (pool == PoolKind::cls ? 1 : 0); }
    int64_t head_dim() const { return embed_dim / heads; }
    bool has_table() const {
        return pos == PositionKind::rpb_2d || pos == PositionKind::rpb_1d ||
               pos == PositionKind::t5;
    }
    /// The relative position scheme of every block's bias (has_table() only).
    Scheme scheme() const;
    /// Rows of each block's table; 0 without one.
    int64_t table_entries() const;

    /// Throws rpb::UsageError naming the value and what is accepted when the architecture is
    /// impossible: non-positive sizes, a patch that does not divide the image, heads that do not
    /// divide the width, an impossible t5 configuration, mean/std/classes of the wrong length, a
    /// std that is not positive.
    void validate() const;
};

/// The config as the JSON object of formats.md "Model files" (keys in_chans, image_size,
/// patch_size, num_classes, embed_dim, depth, num_heads, mlp_dim, pos, pool, num_buckets,
/// max_distance, mean, std, classes).
std::string config_to_json(const ViTConfig& config);
/// Parses it back; throws rpb::Error "<origin>: ..." for malformed JSON, a missing or
/// mistyped key, or a config that fails validate().
ViTConfig config_from_json(const std::string& json, const std::string& origin);

/// One named parameter tensor inside the model's buffer.
struct ParamInfo {
    std::string name;
    Shape shape;
    int64_t offset = 0; ///< in floats, into the buffer
    int64_t size = 0;
    bool decay = false; ///< AdamW weight decay applies (not biases, norms, cls, pos, tables)
};

/// Pointers into one buffer laid out like the parameters (used for parameters, gradients and
/// optimiser moments alike). Absent tensors are null.
struct BlockViews {
    float *norm1_w, *norm1_b, *qkv_w, *qkv_b, *proj_w, *proj_b, *table;
    float *norm2_w, *norm2_b, *fc1_w, *fc1_b, *fc2_w, *fc2_b;
};
struct ViTViews {
    float *patch_w, *patch_b, *cls_token, *pos_embed;
    std::vector<BlockViews> blocks;
    float *norm_w, *norm_b, *head_w, *head_b;
};

/// Buffers of one forward pass of B images, kept for the backward pass (see vit.cpp).
struct ViTActivations;

/// A model's Linear weights packed for the products of forward and backward (vit.cpp).
struct ViTPackedWeights {
    std::vector<PackedB> forward;  ///< x @ w^T, by slot (vit.cpp: linear_slot)
    std::vector<PackedB> backward; ///< dy @ w, by slot; empty for evaluation
};

class ViT {
public:
    /// Validates the config (UsageError) and lays out zeroed parameters.
    explicit ViT(ViTConfig config);
    ~ViT();
    ViT(ViT&&) noexcept;
    ViT& operator=(ViT&&) noexcept;

    const ViTConfig& config() const { return config_; }
    /// The parameter tensors in the model file's order (by name).
    const std::vector<ParamInfo>& layout() const { return layout_; }
    int64_t parameter_count() const { return count_; }
    std::vector<float>& parameters() { return params_; }
    const std::vector<float>& parameters() const { return params_; }
    /// Views of any buffer of parameter_count() floats laid out like the parameters.
    ViTViews views(float* buffer) const;
    /// The (T, T) entry map of the bias (empty without a table).
    const std::vector<int32_t>& index() const { return index_; }

    /// math.md section 6's initialisation from the seeded generator: weights trunc-normal
    /// std 0.02 (Linear, patch, tables, cls_token, pos_embed), biases 0, LayerNorm 1 and 0.
    void initialize(uint64_t seed);

    /// logits (B, K) of `batch` images (B, C, Hi, Wi) of uint8, normalised by the config's
    /// mean and std. With `acts`, its buffers are used (and kept for the next call): with
    /// `for_backward` every block's activations stay for backward, without it one block's
    /// buffers are reused (evaluation). Null `acts`: temporary buffers.
    /// `packed`: null, or this model's current weights as pack_weights packed them.
    void forward(ThreadPool& pool, const uint8_t* images, int64_t batch, float* logits,
                 ViTActivations* acts, bool for_backward = true,
                 const ViTPackedWeights* packed = nullptr) const;
    /// The attention probabilities of every block, (B, H, T, T) each, for `batch` images.
    std::vector<FloatTensor> attention_probabilities(ThreadPool& pool, const uint8_t* images,
                                                     int64_t batch) const;
    /// Gradients of the loss with respect to every parameter (written into `grads`,
    /// parameter_count() floats) from dlogits (B, K) and the activations of the forward pass.
    /// Overwrites the activations.
    /// `packed`: as forward's (with the backward products packed).
    void backward(ThreadPool& pool, ViTActivations& acts, const float* dlogits, float* grads,
                  const ViTPackedWeights* packed = nullptr) const;

    /// What loss_and_gradients measured on a batch.
    struct BatchLoss {
        double loss = 0;     ///< mean over the batch (with the label smoothing asked for)
        int64_t correct = 0; ///< images whose largest logit is their label
    };

    /// The fast training pass (src/core/vit_micro_batch.cpp): forward, cross-entropy with
    /// label smoothing eps (mean over the batch) and backward for `batch` images with
    /// `labels`, every parameter's gradient written into `grads`. The same computation as
    /// forward + nn::cross_entropy_forward_backward + backward, run in micro-batches of
    /// kMicroBatch images, each on one thread from its input to its gradients with its
    /// activations in cache and no barrier between layers; the micro-batches' gradients are
    /// added in order, so results do not depend on the thread count. `logits` (B, K) is
    /// written unless null. Labels must be in [0, K).
    BatchLoss loss_and_gradients(ThreadPool& pool, const uint8_t* images, const int32_t* labels,
                                 int64_t batch, float label_smoothing, float* grads,
                                 float* logits = nullptr) const;

    /// logits (B, K) of `batch` images as forward computes them (the same bits), in
    /// micro-batches of kMicroBatch images, one thread each: the evaluation pass.
    void predict(ThreadPool& pool, const uint8_t* images, int64_t batch, float* logits) const;

    /// Every Linear layer's weights packed for the kernel path's products (rpb/gemm.hpp
    /// PackedB): the micro-batch passes pack them once per batch and share them between
    /// threads, instead of every micro-batch packing its own. Invalid once the weights change.
    std::unique_ptr<const ViTPackedWeights> pack_weights(bool for_backward) const;

    /// Images per micro-batch of loss_and_gradients and predict: a block's activations for
    /// them stay in a core's L2 cache.
    static constexpr int64_t kMicroBatch = 4;

private:
    ViTConfig config_;
    std::vector<ParamInfo> layout_;
    int64_t count_ = 0;
    std::vector<float> params_;
    std::vector<int32_t> index_;
};

/// Owns the activation buffers; reusable across batches.
struct ActivationsDeleter {
    void operator()(ViTActivations* a) const;
};
using ActivationsPtr = std::unique_ptr<ViTActivations, ActivationsDeleter>;
/// Buffers for forward and backward. With keep_attention every block's attention
/// probabilities and output are kept for backward (more memory, no recomputation: for
/// micro-batches); without, backward recomputes them.
ActivationsPtr make_activations(bool keep_attention = false);

/// A model file (formats.md "Model files"): float32 safetensors with the parameters under their
/// names and the config in "__metadata__".
std::string model_file_bytes(const ViT& model);
/// Reads a model file. Throws rpb::Error "<path>: ..." when the file is malformed, has no
/// "rpbtool.config", a config that fails validation, or a tensor that is missing, unexpected or
/// of the wrong shape (naming expected and found shapes).
ViT load_model(const std::string& path);
/// The same from tensors and metadata already read (e.g. a training state file).
ViT model_from_tensors(const std::map<std::string, FloatTensor>& tensors,
                       const std::string& config_json, const std::string& origin);

} // namespace rpb
