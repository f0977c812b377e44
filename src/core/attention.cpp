// Fused attention: OpenBLAS sgemm for the two projections, the tiled kernel
// (attention_kernel.cpp) in between. The qkv projection runs in row chunks and is scattered
// straight into the kernel's packed per-head layout, so the (B, N, 3E) qkv tensor never
// exists whole; the packed operands are freed before the output is allocated.
#include "rpb/attention.hpp"

#include "attention_internal.hpp"

#include <algorithm>
#include <cblas.h>

namespace rpb {
namespace {

int64_t round_up(int64_t value, int64_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

// out (rows, cols) = in (rows, inner) @ weight (cols, inner)^T + bias, bias broadcast over rows.
void linear(const float* in, int64_t rows, int64_t inner, const float* weight, const float* bias,
            int64_t cols, float* out) {
    for (int64_t r = 0; r < rows; ++r) {
        std::copy(bias, bias + cols, out + r * cols);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(rows),
                static_cast<blasint>(cols), static_cast<blasint>(inner), 1.0f, in,
                static_cast<blasint>(inner), weight, static_cast<blasint>(inner), 1.0f, out,
                static_cast<blasint>(cols));
}

detail::PackedHeads pack_qkv(const FloatTensor& x, const AttentionWeights& weights,
                             const detail::AttentionDims& dims) {
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t hd = dims.head_dim;
    const int64_t nbh = dims.batch * dims.heads;
    const int64_t kb = detail::kBlockKeys;

    detail::PackedHeads packed;
    packed.dpad = round_up(hd, 16);
    packed.q_rows = round_up(n, 4);
    packed.k_rows = round_up(n, kb);
    const int64_t dpad = packed.dpad;
    packed.q.assign(static_cast<size_t>(nbh * packed.q_rows * dpad), 0.0f);
    packed.kt.assign(static_cast<size_t>(nbh * packed.k_rows * dpad), 0.0f);
    packed.v.assign(static_cast<size_t>(nbh * packed.k_rows * dpad), 0.0f);

    // About 4 MB of qkv rows per sgemm call: large enough for the BLAS to run at full rate.
    const int64_t total_rows = dims.batch * n;
    const int64_t chunk = std::clamp<int64_t>((1 << 20) / (3 * e), 16, total_rows);
    std::vector<float> buf(static_cast<size_t>(chunk * 3 * e));
    for (int64_t row0 = 0; row0 < total_rows; row0 += chunk) {
        const int64_t rows = std::min(chunk, total_rows - row0);
        linear(x.data() + row0 * e, rows, e, weights.qkv_weight.data(), weights.qkv_bias.data(),
               3 * e, buf.data());
        for (int64_t r = 0; r < rows; ++r) {
            const int64_t b = (row0 + r) / n;
            const int64_t i = (row0 + r) % n;
            const float* src = buf.data() + r * 3 * e;
            for (int64_t h = 0; h < dims.heads; ++h) {
                const int64_t bh = b * dims.heads + h;
                float* q = packed.q_slab(bh) + i * dpad;
                float* kt = packed.kt_slab(bh) + (i / kb) * dpad * kb + i % kb;
                float* v = packed.v_slab(bh) + i * dpad;
                const float* qs = src + h * hd;
                const float* ks = src + e + h * hd;
                const float* vs = src + 2 * e + h * hd;
                for (int64_t c = 0; c < hd; ++c) {
                    q[c] = qs[c] * dims.scale;
                    kt[c * kb] = ks[c];
                    v[c] = vs[c];
                }
            }
        }
    }
    return packed;
}

} // namespace

FloatTensor attention_forward(const FloatTensor& x, const AttentionWeights& weights,
                              const EntryIndex& index, const AttentionConfig& config,
                              FloatTensor* probs) {
    const detail::AttentionDims dims = detail::check_attention_inputs(x, weights, index, config);
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const detail::BiasSource bias = detail::make_bias_source(weights.table, index, dims.heads);

    std::vector<float> merged;
    {
        detail::PackedHeads packed = pack_qkv(x, weights, dims);
        merged.resize(static_cast<size_t>(dims.batch * n * e));
        float* probs_data = nullptr;
        if (probs != nullptr) {
            *probs = FloatTensor({dims.batch, dims.heads, n, n});
            probs_data = probs->data();
        }
        detail::run_attention_kernel(packed, bias, dims, config.causal, config.threads,
                                     merged.data(), probs_data);
    }
    FloatTensor out({dims.batch, n, e});
    linear(merged.data(), dims.batch * n, e, weights.proj_weight.data(), weights.proj_bias.data(),
           e, out.data());
    return out;
}

} // namespace rpb
