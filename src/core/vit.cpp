// The ViT's parameters, forward and backward passes (vit.hpp), built from the ops of nn.hpp.
#include "rpb/vit.hpp"

#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/nn.hpp"
#include "rpb/random.hpp"

#include <algorithm>
#include <cmath>

namespace rpb {

namespace {

constexpr float kLayerNormEps = 1e-6f;
// The random stream of the ViT's initial weights (random.hpp: 0-2 are bias, weights, input).
constexpr uint64_t kInitStream = 3;

} // namespace

// Forward buffers per block (kept for backward) and the backward pass's scratch.
struct BlockActivations {
    std::vector<float> x;        // (R, E) block input
    std::vector<float> ln1;      // (R, E); block 0's only, shared (recomputed in backward)
    std::vector<float> ln1_mean; // (R)
    std::vector<float> ln1_rstd; // (R)
    std::vector<float> qkv;      // (R, 3E)
    std::vector<float> probs;    // (B, H, T, T)
    std::vector<float> att;      // (R, E) merged heads, before proj
    std::vector<float> mid;      // (R, E) x + proj(att)
    std::vector<float> ln2;      // (R, E); shared as ln1
    std::vector<float> ln2_mean; // (R)
    std::vector<float> ln2_rstd; // (R)
    std::vector<float> fc1;      // (R, M) before GELU
    std::vector<float> gelu;     // (R, M); shared as ln1
};

struct ViTActivations {
    int64_t batch = 0;
    bool kept = false;           // one BlockActivations per block (else one, reused)
    bool keep_attention = false; // every block's probs and att kept (else recomputed)
    std::vector<float> patches;  // (B*n, C*P*P) normalised
    std::vector<float> tokens;   // (B*n, E) patch embeddings
    std::vector<BlockActivations> blocks;
    std::vector<float> out; // (R, E) output of the last block
    std::vector<float> lnf, lnf_mean, lnf_rstd;
    std::vector<float> pooled; // (B, E)
    // backward scratch
    std::vector<float> dx, dtmp, dqkv, datt, dhidden, dpooled;
};

void ActivationsDeleter::operator()(ViTActivations* a) const {
    delete a;
}

ActivationsPtr make_activations(bool keep_attention) {
    ActivationsPtr a(new ViTActivations());
    a->keep_attention = keep_attention;
    return a;
}

namespace {

void resize(std::vector<float>& v, int64_t n) {
    v.resize(static_cast<size_t>(n));
}

} // namespace

ViT::ViT(ViTConfig config) : config_(std::move(config)) {
    config_.validate();
    const ViTConfig& c = config_;
    const int64_t e = c.embed_dim;
    auto add = [&](std::string name, Shape shape, bool decay) {
        ParamInfo p;
        p.name = std::move(name);
        p.size = shape_size(shape);
        p.shape = std::move(shape);
        p.offset = count_;
        p.decay = decay;
        count_ += p.size;
        layout_.push_back(std::move(p));
    };
    add("patch_embed.proj.weight", {e, c.in_chans, c.patch, c.patch}, true);
    add("patch_embed.proj.bias", {e}, false);
    if (c.pool == PoolKind::cls) {
        add("cls_token", {1, 1, e}, false);
    }
    if (c.pos == PositionKind::ape) {
        add("pos_embed", {1, c.tokens(), e}, false);
    }
    for (int64_t l = 0; l < c.depth; ++l) {
        const std::string b = "blocks." + std::to_string(l) + ".";
        add(b + "norm1.weight", {e}, false);
        add(b + "norm1.bias", {e}, false);
        add(b + "attn.qkv.weight", {3 * e, e}, true);
        add(b + "attn.qkv.bias", {3 * e}, false);
        add(b + "attn.proj.weight", {e, e}, true);
        add(b + "attn.proj.bias", {e}, false);
        if (c.has_table()) {
            add(b + "attn.relative_position_bias_table", {c.table_entries(), c.heads}, false);
        }
        add(b + "norm2.weight", {e}, false);
        add(b + "norm2.bias", {e}, false);
        add(b + "mlp.fc1.weight", {c.mlp_dim, e}, true);
        add(b + "mlp.fc1.bias", {c.mlp_dim}, false);
        add(b + "mlp.fc2.weight", {e, c.mlp_dim}, true);
        add(b + "mlp.fc2.bias", {e}, false);
    }
    add("norm.weight", {e}, false);
    add("norm.bias", {e}, false);
    add("head.weight", {c.num_classes, e}, true);
    add("head.bias", {c.num_classes}, false);
    params_.assign(static_cast<size_t>(count_), 0.0f);
    if (c.has_table()) {
        const IntTensor map = index_map(c.scheme());
        index_.assign(map.data(), map.data() + map.size());
    }
}

ViT::~ViT() = default;
ViT::ViT(ViT&&) noexcept = default;
ViT& ViT::operator=(ViT&&) noexcept = default;

ViTViews ViT::views(float* buffer) const {
    auto at = [&](const std::string& name) -> float* {
        for (const ParamInfo& p : layout_) {
            if (p.name == name) {
                return buffer + p.offset;
            }
        }
        return nullptr;
    };
    ViTViews v{};
    v.patch_w = at("patch_embed.proj.weight");
    v.patch_b = at("patch_embed.proj.bias");
    v.cls_token = at("cls_token");
    v.pos_embed = at("pos_embed");
    for (int64_t l = 0; l < config_.depth; ++l) {
        const std::string b = "blocks." + std::to_string(l) + ".";
        v.blocks.push_back(
            BlockViews{at(b + "norm1.weight"), at(b + "norm1.bias"), at(b + "attn.qkv.weight"),
                       at(b + "attn.qkv.bias"), at(b + "attn.proj.weight"),
                       at(b + "attn.proj.bias"), at(b + "attn.relative_position_bias_table"),
                       at(b + "norm2.weight"), at(b + "norm2.bias"), at(b + "mlp.fc1.weight"),
                       at(b + "mlp.fc1.bias"), at(b + "mlp.fc2.weight"), at(b + "mlp.fc2.bias")});
    }
    v.norm_w = at("norm.weight");
    v.norm_b = at("norm.bias");
    v.head_w = at("head.weight");
    v.head_b = at("head.bias");
    return v;
}

void ViT::initialize(uint64_t seed) {
    // One trunc-normal run over the tensors that get one, in layout order; LayerNorm weights 1.
    int64_t random_count = 0;
    auto is_random = [](const ParamInfo& p) {
        return p.decay || p.name == "cls_token" || p.name == "pos_embed" ||
               p.name.ends_with("relative_position_bias_table");
    };
    for (const ParamInfo& p : layout_) {
        random_count += is_random(p) ? p.size : 0;
    }
    const std::vector<float> values = trunc_normal_values(seed, random_count, 0.02f, kInitStream);
    int64_t next = 0;
    for (const ParamInfo& p : layout_) {
        float* dst = params_.data() + p.offset;
        if (is_random(p)) {
            std::copy(values.begin() + next, values.begin() + next + p.size, dst);
            next += p.size;
        } else if (p.name.ends_with("norm1.weight") || p.name.ends_with("norm2.weight") ||
                   p.name == "norm.weight") {
            std::fill(dst, dst + p.size, 1.0f);
        } else {
            std::fill(dst, dst + p.size, 0.0f);
        }
    }
}

namespace {

// Where a Linear layer's packed weights sit in ViTPackedWeights: the patch embedding, the
// head, then each block's qkv, proj, fc1 and fc2.
enum class Linear { qkv = 0, proj = 1, fc1 = 2, fc2 = 3 };
constexpr size_t kPatchSlot = 0;
constexpr size_t kHeadSlot = 1;
size_t linear_slot(int64_t block, Linear layer) {
    return static_cast<size_t>(2 + 4 * block + static_cast<int64_t>(layer));
}

// The packed weights of a slot, or null (the ops then pack their own).
const PackedB* forward_pack(const ViTPackedWeights* packed, size_t slot) {
    return packed != nullptr ? &packed->forward[slot] : nullptr;
}
const PackedB* backward_pack(const ViTPackedWeights* packed, size_t slot) {
    return packed != nullptr && !packed->backward.empty() ? &packed->backward[slot] : nullptr;
}

} // namespace

std::unique_ptr<const ViTPackedWeights> ViT::pack_weights(bool for_backward) const {
    const ViTConfig& c = config_;
    const ViTViews w = views(const_cast<float*>(params_.data()));
    const int64_t e = c.embed_dim, m = c.mlp_dim;
    struct Layer {
        const float* w;
        int64_t in, out;
    };
    std::vector<Layer> layers(2 + 4 * static_cast<size_t>(c.depth));
    layers[kPatchSlot] = {w.patch_w, c.in_chans * c.patch * c.patch, e};
    layers[kHeadSlot] = {w.head_w, e, c.num_classes};
    for (int64_t l = 0; l < c.depth; ++l) {
        const BlockViews& bw = w.blocks[static_cast<size_t>(l)];
        layers[linear_slot(l, Linear::qkv)] = {bw.qkv_w, e, 3 * e};
        layers[linear_slot(l, Linear::proj)] = {bw.proj_w, e, e};
        layers[linear_slot(l, Linear::fc1)] = {bw.fc1_w, e, m};
        layers[linear_slot(l, Linear::fc2)] = {bw.fc2_w, m, e};
    }
    auto packed = std::make_unique<ViTPackedWeights>();
    for (const Layer& layer : layers) {
        packed->forward.push_back(nn::pack_linear_forward(layer.w, layer.in, layer.out));
        if (for_backward) {
            packed->backward.push_back(nn::pack_linear_backward(layer.w, layer.in, layer.out));
        }
    }
    return packed;
}

void ViT::forward(ThreadPool& pool, const uint8_t* images, int64_t batch, float* logits,
                  ViTActivations* kept, bool for_backward, const ViTPackedWeights* packed) const {
    const ViTConfig& c = config_;
    const int64_t e = c.embed_dim, t = c.tokens(), n = c.patches(), m = c.mlp_dim;
    const int64_t rows = batch * t;
    const int64_t pp = c.in_chans * c.patch * c.patch;
    ViTActivations local;
    ViTActivations& a = kept != nullptr ? *kept : local;
    a.batch = batch;
    a.kept = kept != nullptr && for_backward;
    a.blocks.resize(static_cast<size_t>(a.kept ? c.depth : 1));
    const ViTViews w = views(const_cast<float*>(params_.data()));

    // Patches (im2col), normalised as (u8 / 255 - mean) / std in float32.
    resize(a.patches, batch * n * pp);
    pool.run(batch, [&](int64_t b) {
        const uint8_t* img = images + b * c.in_chans * c.image_h * c.image_w;
        for (int64_t gy = 0; gy < c.grid_h(); ++gy) {
            for (int64_t gx = 0; gx < c.grid_w(); ++gx) {
                float* dst = a.patches.data() + ((b * n) + gy * c.grid_w() + gx) * pp;
                for (int64_t ch = 0; ch < c.in_chans; ++ch) {
                    const float mean = c.mean[static_cast<size_t>(ch)];
                    const float sd = c.std[static_cast<size_t>(ch)];
                    for (int64_t py = 0; py < c.patch; ++py) {
                        const uint8_t* src =
                            img + (ch * c.image_h + gy * c.patch + py) * c.image_w + gx * c.patch;
                        for (int64_t px = 0; px < c.patch; ++px) {
                            *dst++ = (static_cast<float>(src[px]) / 255.0f - mean) / sd;
                        }
                    }
                }
            }
        }
    });
    resize(a.tokens, batch * n * e);
    nn::linear_forward(pool, a.patches.data(), w.patch_w, w.patch_b, a.tokens.data(), batch * n, pp,
                       e, forward_pack(packed, kPatchSlot));

    // Token sequence: [cls ; patches] (+ pos_embed), into the first block's input.
    const int64_t first = c.pool == PoolKind::cls ? 1 : 0;
    std::vector<float>* x = &a.blocks[0].x;
    resize(*x, rows * e);
    pool.run(batch, [&](int64_t b) {
        float* dst = x->data() + b * t * e;
        if (first == 1) {
            std::copy(w.cls_token, w.cls_token + e, dst);
        }
        std::copy(a.tokens.data() + b * n * e, a.tokens.data() + (b + 1) * n * e, dst + first * e);
        if (w.pos_embed != nullptr) {
            for (int64_t i = 0; i < t * e; ++i) {
                dst[i] += w.pos_embed[i];
            }
        }
    });

    const nn::AttentionShape shape{batch, t, c.heads, c.head_dim(),
                                   1.0f / std::sqrt(static_cast<float>(c.head_dim()))};
    for (int64_t l = 0; l < c.depth; ++l) {
        BlockActivations& ba = a.blocks[static_cast<size_t>(a.kept ? l : 0)];
        const BlockViews& bw = w.blocks[static_cast<size_t>(l)];
        // LayerNorm and GELU outputs are cheap to recompute: one set of buffers (block 0's) is
        // shared by every block, and backward recomputes them (a third less memory).
        BlockActivations& shared = a.blocks[0];
        resize(shared.ln1, rows * e);
        resize(ba.ln1_mean, rows);
        resize(ba.ln1_rstd, rows);
        resize(ba.qkv, rows * 3 * e);
        // The attention's probabilities and output are recomputed by backward from qkv (as
        // flash attention does): kept per block only when asked for (attention pictures).
        BlockActivations& attn = a.keep_attention ? ba : shared;
        resize(attn.probs, batch * c.heads * t * t);
        resize(attn.att, rows * e);
        resize(ba.mid, rows * e);
        resize(shared.ln2, rows * e);
        resize(ba.ln2_mean, rows);
        resize(ba.ln2_rstd, rows);
        resize(ba.fc1, rows * m);
        resize(shared.gelu, rows * m);
        nn::layernorm_forward(pool, ba.x.data(), bw.norm1_w, bw.norm1_b, shared.ln1.data(),
                              ba.ln1_mean.data(), ba.ln1_rstd.data(), rows, e, kLayerNormEps);
        nn::linear_forward(pool, shared.ln1.data(), bw.qkv_w, bw.qkv_b, ba.qkv.data(), rows, e,
                           3 * e, forward_pack(packed, linear_slot(l, Linear::qkv)));
        nn::attention_forward(pool, shape, ba.qkv.data(), bw.table,
                              index_.empty() ? nullptr : index_.data(), attn.probs.data(),
                              attn.att.data());
        nn::linear_forward(pool, attn.att.data(), bw.proj_w, bw.proj_b, ba.mid.data(), rows, e, e,
                           forward_pack(packed, linear_slot(l, Linear::proj)));
        nn::add_inplace(pool, ba.mid.data(), ba.x.data(), rows * e);
        nn::layernorm_forward(pool, ba.mid.data(), bw.norm2_w, bw.norm2_b, shared.ln2.data(),
                              ba.ln2_mean.data(), ba.ln2_rstd.data(), rows, e, kLayerNormEps);
        nn::linear_forward(pool, shared.ln2.data(), bw.fc1_w, bw.fc1_b, ba.fc1.data(), rows, e, m,
                           forward_pack(packed, linear_slot(l, Linear::fc1)));
        nn::gelu_forward(pool, ba.fc1.data(), shared.gelu.data(), rows * m);
        // The block's output is the next block's input (or `out` after the last).
        std::vector<float>& y =
            l + 1 < c.depth ? a.blocks[static_cast<size_t>(a.kept ? l + 1 : 0)].x : a.out;
        // Without kept activations y is this block's own input x, no longer needed: mid holds
        // the residual.
        resize(y, rows * e);
        nn::linear_forward(pool, shared.gelu.data(), bw.fc2_w, bw.fc2_b, y.data(), rows, m, e,
                           forward_pack(packed, linear_slot(l, Linear::fc2)));
        nn::add_inplace(pool, y.data(), ba.mid.data(), rows * e);
    }

    resize(a.lnf, rows * e);
    resize(a.lnf_mean, rows);
    resize(a.lnf_rstd, rows);
    nn::layernorm_forward(pool, a.out.data(), w.norm_w, w.norm_b, a.lnf.data(), a.lnf_mean.data(),
                          a.lnf_rstd.data(), rows, e, kLayerNormEps);
    resize(a.pooled, batch * e);
    pool.run(batch, [&](int64_t b) {
        float* dst = a.pooled.data() + b * e;
        const float* y = a.lnf.data() + b * t * e;
        if (c.pool == PoolKind::cls) {
            std::copy(y, y + e, dst);
            return;
        }
        std::fill(dst, dst + e, 0.0f);
        for (int64_t i = 0; i < t; ++i) {
            for (int64_t k = 0; k < e; ++k) {
                dst[k] += y[i * e + k];
            }
        }
        const float inv = 1.0f / static_cast<float>(t);
        for (int64_t k = 0; k < e; ++k) {
            dst[k] *= inv;
        }
    });
    nn::linear_forward(pool, a.pooled.data(), w.head_w, w.head_b, logits, batch, e, c.num_classes,
                       forward_pack(packed, kHeadSlot));
}

std::vector<FloatTensor> ViT::attention_probabilities(ThreadPool& pool, const uint8_t* images,
                                                      int64_t batch) const {
    ViTActivations acts;
    acts.keep_attention = true;
    std::vector<float> logits(static_cast<size_t>(batch * config_.num_classes));
    forward(pool, images, batch, logits.data(), &acts);
    std::vector<FloatTensor> out;
    const int64_t t = config_.tokens();
    for (const BlockActivations& b : acts.blocks) {
        out.emplace_back(Shape{batch, config_.heads, t, t}, b.probs);
    }
    return out;
}

void ViT::backward(ThreadPool& pool, ViTActivations& a, const float* dlogits, float* grads,
                   const ViTPackedWeights* packed) const {
    if (!a.kept) {
        throw Error("ViT::backward needs the activations of a forward pass that kept them");
    }
    const ViTConfig& c = config_;
    const int64_t batch = a.batch;
    const int64_t e = c.embed_dim, t = c.tokens(), n = c.patches(), m = c.mlp_dim;
    const int64_t rows = batch * t;
    const int64_t pp = c.in_chans * c.patch * c.patch;
    const ViTViews w = views(const_cast<float*>(params_.data()));
    const ViTViews g = views(grads);
    resize(a.dx, rows * e);
    resize(a.dtmp, rows * e);
    resize(a.dqkv, rows * 3 * e);
    resize(a.datt, rows * e);
    resize(a.dhidden, rows * m);
    resize(a.dpooled, batch * e);

    // Head and pooling.
    nn::linear_backward(pool, dlogits, a.pooled.data(), w.head_w, a.dpooled.data(), g.head_w,
                        g.head_b, batch, e, c.num_classes, backward_pack(packed, kHeadSlot));
    float* dlnf = a.dtmp.data();
    pool.run(batch, [&](int64_t b) {
        float* d = dlnf + b * t * e;
        const float* dp = a.dpooled.data() + b * e;
        if (c.pool == PoolKind::cls) {
            std::fill(d, d + t * e, 0.0f);
            std::copy(dp, dp + e, d);
            return;
        }
        const float inv = 1.0f / static_cast<float>(t);
        for (int64_t i = 0; i < t; ++i) {
            for (int64_t k = 0; k < e; ++k) {
                d[i * e + k] = dp[k] * inv;
            }
        }
    });
    nn::layernorm_backward(pool, dlnf, a.out.data(), w.norm_w, a.lnf_mean.data(), a.lnf_rstd.data(),
                           a.dx.data(), g.norm_w, g.norm_b, rows, e);

    // Blocks, last first. a.dx holds the gradient of the residual stream.
    const nn::AttentionShape shape{batch, t, c.heads, c.head_dim(),
                                   1.0f / std::sqrt(static_cast<float>(c.head_dim()))};
    for (int64_t l = c.depth - 1; l >= 0; --l) {
        BlockActivations& ba = a.blocks[static_cast<size_t>(l)];
        const BlockViews& bw = w.blocks[static_cast<size_t>(l)];
        const BlockViews& bg = g.blocks[static_cast<size_t>(l)];
        // MLP: out = mid + fc2(gelu(fc1(ln2(mid))))
        BlockActivations& shared = a.blocks[0]; // recomputed inputs, see forward
        nn::gelu_forward(pool, ba.fc1.data(), shared.gelu.data(), rows * m);
        nn::linear_backward(pool, a.dx.data(), shared.gelu.data(), bw.fc2_w, a.dhidden.data(),
                            bg.fc2_w, bg.fc2_b, rows, m, e,
                            backward_pack(packed, linear_slot(l, Linear::fc2)));
        nn::gelu_backward(pool, a.dhidden.data(), ba.fc1.data(), a.dhidden.data(), rows * m);
        nn::layernorm_forward(pool, ba.mid.data(), bw.norm2_w, bw.norm2_b, shared.ln2.data(),
                              ba.ln2_mean.data(), ba.ln2_rstd.data(), rows, e, kLayerNormEps);
        nn::linear_backward(pool, a.dhidden.data(), shared.ln2.data(), bw.fc1_w, a.dtmp.data(),
                            bg.fc1_w, bg.fc1_b, rows, e, m,
                            backward_pack(packed, linear_slot(l, Linear::fc1)));
        nn::layernorm_backward(pool, a.dtmp.data(), ba.mid.data(), bw.norm2_w, ba.ln2_mean.data(),
                               ba.ln2_rstd.data(), a.datt.data(), bg.norm2_w, bg.norm2_b, rows, e);
        nn::add_inplace(pool, a.dx.data(), a.datt.data(), rows * e); // dx is now d(mid)
        // Attention: mid = x + proj(attn(qkv(ln1(x)))); probabilities and output recomputed
        // unless forward kept them.
        BlockActivations& attn = a.keep_attention ? ba : shared;
        if (!a.keep_attention) {
            nn::attention_forward(pool, shape, ba.qkv.data(), bw.table,
                                  index_.empty() ? nullptr : index_.data(), shared.probs.data(),
                                  shared.att.data());
        }
        nn::linear_backward(pool, a.dx.data(), attn.att.data(), bw.proj_w, a.datt.data(), bg.proj_w,
                            bg.proj_b, rows, e, e,
                            backward_pack(packed, linear_slot(l, Linear::proj)));
        nn::attention_backward(pool, shape, ba.qkv.data(), attn.probs.data(), a.datt.data(),
                               index_.empty() ? nullptr : index_.data(), c.table_entries(),
                               a.dqkv.data(), bg.table);
        nn::layernorm_forward(pool, ba.x.data(), bw.norm1_w, bw.norm1_b, shared.ln1.data(),
                              ba.ln1_mean.data(), ba.ln1_rstd.data(), rows, e, kLayerNormEps);
        nn::linear_backward(pool, a.dqkv.data(), shared.ln1.data(), bw.qkv_w, a.dtmp.data(),
                            bg.qkv_w, bg.qkv_b, rows, e, 3 * e,
                            backward_pack(packed, linear_slot(l, Linear::qkv)));
        nn::layernorm_backward(pool, a.dtmp.data(), ba.x.data(), bw.norm1_w, ba.ln1_mean.data(),
                               ba.ln1_rstd.data(), a.datt.data(), bg.norm1_w, bg.norm1_b, rows, e);
        nn::add_inplace(pool, a.dx.data(), a.datt.data(), rows * e); // dx is now d(x)
    }

    // Embedding: x0 = [cls ; tokens] + pos_embed.
    const int64_t first = c.pool == PoolKind::cls ? 1 : 0;
    if (g.pos_embed != nullptr) {
        // Sum over the batch in batch order, per (token, channel).
        pool.run(t, [&](int64_t i) {
            float* dst = g.pos_embed + i * e;
            std::fill(dst, dst + e, 0.0f);
            for (int64_t b = 0; b < batch; ++b) {
                const float* src = a.dx.data() + (b * t + i) * e;
                for (int64_t k = 0; k < e; ++k) {
                    dst[k] += src[k];
                }
            }
        });
    }
    if (g.cls_token != nullptr) {
        std::fill(g.cls_token, g.cls_token + e, 0.0f);
        for (int64_t b = 0; b < batch; ++b) {
            const float* src = a.dx.data() + b * t * e;
            for (int64_t k = 0; k < e; ++k) {
                g.cls_token[k] += src[k];
            }
        }
    }
    float* dtokens = a.tokens.data(); // the embeddings are no longer needed
    pool.run(batch, [&](int64_t b) {
        const float* src = a.dx.data() + (b * t + first) * e;
        std::copy(src, src + n * e, dtokens + b * n * e);
    });
    nn::linear_backward(pool, dtokens, a.patches.data(), w.patch_w, nullptr, g.patch_w, g.patch_b,
                        batch * n, pp, e);
}

} // namespace rpb
