#include "attention_internal.hpp"
#include "rpb/attention.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace rpb {

namespace detail {

void project_out_double(const double* merged, int64_t tokens, const AttentionWeights& weights,
                        float* out) {
    const int64_t e = weights.proj_weight.dim(0);
    for (int64_t t = 0; t < tokens; ++t) {
        for (int64_t o = 0; o < e; ++o) {
            double acc = weights.proj_bias[o];
            for (int64_t c = 0; c < e; ++c) {
                acc += merged[t * e + c] * weights.proj_weight.at(o, c);
            }
            out[t * e + o] = static_cast<float>(acc);
        }
    }
}

} // namespace detail

FloatTensor attention_reference(const FloatTensor& x, const AttentionWeights& weights,
                                const EntryIndex& index, const AttentionConfig& config,
                                FloatTensor* probs) {
    const detail::AttentionDims dims = detail::check_attention_inputs(x, weights, index, config);
    const int64_t nb = dims.batch;
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t nh = dims.heads;
    const int64_t hd = dims.head_dim;

    FloatTensor out({nb, n, e});
    if (probs != nullptr) {
        *probs = FloatTensor({nb, nh, n, n});
    }
    std::vector<double> qkv(static_cast<size_t>(n * 3 * e));
    std::vector<double> merged(static_cast<size_t>(n * e));
    std::vector<double> logits(static_cast<size_t>(n * n));
    for (int64_t b = 0; b < nb; ++b) {
        const float* xb = x.data() + b * n * e;
        for (int64_t t = 0; t < n; ++t) {
            for (int64_t o = 0; o < 3 * e; ++o) {
                double acc = weights.qkv_bias[o];
                for (int64_t c = 0; c < e; ++c) {
                    acc += static_cast<double>(xb[t * e + c]) * weights.qkv_weight.at(o, c);
                }
                qkv[t * 3 * e + o] = acc;
            }
        }
        auto q = [&](int64_t t, int64_t h, int64_t c) { return qkv[t * 3 * e + h * hd + c]; };
        auto k = [&](int64_t t, int64_t h, int64_t c) { return qkv[t * 3 * e + e + h * hd + c]; };
        auto v = [&](int64_t t, int64_t h, int64_t c) {
            return qkv[t * 3 * e + 2 * e + h * hd + c];
        };
        for (int64_t h = 0; h < nh; ++h) {
            for (int64_t i = 0; i < n; ++i) {
                for (int64_t j = 0; j < n; ++j) {
                    double dot = 0.0;
                    for (int64_t c = 0; c < hd; ++c) {
                        dot += q(i, h, c) * k(j, h, c);
                    }
                    const bool masked = config.causal && j > i;
                    logits[i * n + j] = masked
                                            ? -std::numeric_limits<double>::infinity()
                                            : dims.scale * dot + weights.table.at(index(i, j), h);
                }
            }
            for (int64_t i = 0; i < n; ++i) {
                double* row = logits.data() + i * n;
                const double mx = *std::max_element(row, row + n);
                double sum = 0.0;
                for (int64_t j = 0; j < n; ++j) {
                    row[j] = std::exp(row[j] - mx);
                    sum += row[j];
                }
                for (int64_t j = 0; j < n; ++j) {
                    row[j] /= sum;
                    if (probs != nullptr) {
                        (*probs)[((b * nh + h) * n + i) * n + j] = static_cast<float>(row[j]);
                    }
                }
                for (int64_t c = 0; c < hd; ++c) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < n; ++j) {
                        acc += row[j] * v(j, h, c);
                    }
                    merged[i * e + h * hd + c] = acc;
                }
            }
        }
        detail::project_out_double(merged.data(), n, weights, out.data() + b * n * e);
    }
    return out;
}

} // namespace rpb
