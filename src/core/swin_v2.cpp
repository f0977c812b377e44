#include "rpb/swin_v2.hpp"

#include "attention_internal.hpp"
#include "rpb/array.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <vector>

namespace rpb {

void check_cpb_mlp(const CpbMlp& mlp, std::string_view what) {
    const int64_t hidden = mlp.w0.rank() == 2 ? mlp.w0.dim(0) : 0;
    auto fail = [&](std::string_view name, const Shape& found, const std::string& expected) {
        throw Error(fmt::format("{}: {} has shape {}, expected {}", what, name, shape_string(found),
                                expected));
    };
    if (mlp.w0.rank() != 2 || mlp.w0.dim(1) != 2 || hidden == 0) {
        fail("cpb_mlp.0.weight", mlp.w0.shape(), "(hidden, 2)");
    }
    if (mlp.b0.shape() != Shape{hidden}) {
        fail("cpb_mlp.0.bias", mlp.b0.shape(), shape_string({hidden}));
    }
    if (mlp.w2.rank() != 2 || mlp.w2.dim(1) != hidden || mlp.w2.dim(0) == 0) {
        fail("cpb_mlp.2.weight", mlp.w2.shape(), fmt::format("(heads, {})", hidden));
    }
}

FloatTensor cpb_coords(int64_t window_h, int64_t window_w, int64_t pretrained_h,
                       int64_t pretrained_w) {
    if (window_h < 1 || window_w < 1 || pretrained_h < 0 || pretrained_w < 0) {
        throw UsageError(fmt::format("window {}x{} (pretrained {}x{}): sides must be positive",
                                     window_h, window_w, pretrained_h, pretrained_w));
    }
    const int64_t ph = pretrained_h > 0 ? pretrained_h : window_h;
    const int64_t pw = pretrained_w > 0 ? pretrained_w : window_w;
    // Float32 steps in the reference's order (arange / (P - 1) * 8, then the log map), so
    // that the MLP sees the very same inputs.
    auto coord = [](int64_t d, int64_t p) {
        float c = static_cast<float>(d);
        if (p > 1) {
            c /= static_cast<float>(p - 1);
        }
        c *= 8.0f;
        const float sign = c > 0 ? 1.0f : (c < 0 ? -1.0f : 0.0f);
        return sign * std::log2(std::abs(c) + 1.0f) / 3.0f;
    };
    const int64_t rows = 2 * window_h - 1;
    const int64_t cols = 2 * window_w - 1;
    FloatTensor coords({rows, cols, 2});
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            coords[(r * cols + c) * 2] = coord(r - (window_h - 1), ph);
            coords[(r * cols + c) * 2 + 1] = coord(c - (window_w - 1), pw);
        }
    }
    return coords;
}

FloatTensor cpb_table(const CpbMlp& mlp, int64_t window_h, int64_t window_w, int64_t pretrained_h,
                      int64_t pretrained_w) {
    check_cpb_mlp(mlp, "swin v2 bias mlp");
    const FloatTensor coords = cpb_coords(window_h, window_w, pretrained_h, pretrained_w);
    const int64_t entries = (2 * window_h - 1) * (2 * window_w - 1);
    const int64_t hidden = mlp.w0.dim(0);
    const int64_t heads = mlp.heads();
    FloatTensor table({entries, heads});
    std::vector<double> h(static_cast<size_t>(hidden));
    for (int64_t entry = 0; entry < entries; ++entry) {
        const double y = coords[entry * 2];
        const double x = coords[entry * 2 + 1];
        for (int64_t u = 0; u < hidden; ++u) {
            const double v = mlp.w0.at(u, 0) * y + mlp.w0.at(u, 1) * x + mlp.b0[u];
            h[u] = v > 0 ? v : 0;
        }
        for (int64_t head = 0; head < heads; ++head) {
            double acc = 0;
            for (int64_t u = 0; u < hidden; ++u) {
                acc += mlp.w2.at(head, u) * h[u];
            }
            table.at(entry, head) = static_cast<float>(16.0 / (1.0 + std::exp(-acc)));
        }
    }
    return table;
}

namespace {

// One window's cosine attention in double: for every head of `heads`, each query row's
// probabilities go to on_row(h, i, row); with `merged` (N, E) not null, the heads' outputs
// are written there too.
class V2Window {
public:
    V2Window(const detail::AttentionDims& dims, const AttentionWeights& weights,
             const FloatTensor& logit_scale, const EntryIndex& index, bool causal)
        : dims_(dims), weights_(weights), index_(index), causal_(causal),
          scale_(static_cast<size_t>(dims.heads)),
          qkv_(static_cast<size_t>(dims.tokens * 3 * dims.embed)),
          row_(static_cast<size_t>(dims.tokens)) {
        const int64_t nh = dims.heads;
        if (logit_scale.size() != nh) {
            throw Error(fmt::format("logit_scale has shape {}, expected {} values (one per head)",
                                    shape_string(logit_scale.shape()), nh));
        }
        if (const int64_t i = first_non_finite(logit_scale.data(), nh); i < nh) {
            throw Error(fmt::format("logit_scale holds a non-finite value at flat index {}", i));
        }
        for (int64_t h = 0; h < nh; ++h) {
            scale_[h] = std::exp(std::min<double>(logit_scale[h], std::log(100.0)));
        }
    }

    template <typename OnRow>
    void run(const float* xb, const std::vector<int64_t>& heads, const OnRow& on_row,
             double* merged) {
        project(xb);
        const int64_t n = dims_.tokens;
        const int64_t e = dims_.embed;
        const int64_t hd = dims_.head_dim;
        for (const int64_t h : heads) {
            for (int64_t i = 0; i < n; ++i) {
                double mx = -HUGE_VAL;
                for (int64_t j = 0; j < n; ++j) {
                    double dot = 0;
                    for (int64_t c = 0; c < hd; ++c) {
                        dot += qkv_[i * 3 * e + h * hd + c] * qkv_[j * 3 * e + e + h * hd + c];
                    }
                    row_[j] = causal_ && j > i
                                  ? -HUGE_VAL
                                  : dot * scale_[h] + weights_.table.at(index_(i, j), h);
                    mx = std::max(mx, row_[j]);
                }
                double sum = 0;
                for (int64_t j = 0; j < n; ++j) {
                    row_[j] = std::exp(row_[j] - mx);
                    sum += row_[j];
                }
                for (int64_t j = 0; j < n; ++j) {
                    row_[j] /= sum;
                }
                on_row(h, i, row_.data());
                if (merged == nullptr) {
                    continue;
                }
                for (int64_t c = 0; c < hd; ++c) {
                    double acc = 0;
                    for (int64_t j = 0; j < n; ++j) {
                        acc += row_[j] * qkv_[j * 3 * e + 2 * e + h * hd + c];
                    }
                    merged[i * e + h * hd + c] = acc;
                }
            }
        }
    }

private:
    // qkv of the window's tokens, q and k of each head normalised to unit length.
    void project(const float* xb) {
        const int64_t n = dims_.tokens;
        const int64_t e = dims_.embed;
        const int64_t hd = dims_.head_dim;
        for (int64_t t = 0; t < n; ++t) {
            for (int64_t o = 0; o < 3 * e; ++o) {
                // Swin V2 keeps no key bias: torchvision zeroes that third of qkv.bias.
                double acc = o >= e && o < 2 * e ? 0.0 : weights_.qkv_bias[o];
                for (int64_t c = 0; c < e; ++c) {
                    acc += static_cast<double>(xb[t * e + c]) * weights_.qkv_weight.at(o, c);
                }
                qkv_[t * 3 * e + o] = acc;
            }
            // F.normalize(dim=-1, eps=1e-12) of each head's q and k.
            for (int64_t part = 0; part < 2; ++part) {
                for (int64_t h = 0; h < dims_.heads; ++h) {
                    double* p = qkv_.data() + t * 3 * e + part * e + h * hd;
                    double norm = 0;
                    for (int64_t c = 0; c < hd; ++c) {
                        norm += p[c] * p[c];
                    }
                    norm = std::max(std::sqrt(norm), 1e-12);
                    for (int64_t c = 0; c < hd; ++c) {
                        p[c] /= norm;
                    }
                }
            }
        }
    }

    const detail::AttentionDims& dims_;
    const AttentionWeights& weights_;
    const EntryIndex& index_;
    bool causal_;
    std::vector<double> scale_;
    std::vector<double> qkv_;
    std::vector<double> row_;
};

} // namespace

FloatTensor swin_v2_attention(const FloatTensor& x, const AttentionWeights& weights,
                              const FloatTensor& logit_scale, const EntryIndex& index,
                              const AttentionConfig& config, FloatTensor* probs) {
    const detail::AttentionDims dims = detail::check_attention_inputs(x, weights, index, config);
    const int64_t nb = dims.batch;
    const int64_t n = dims.tokens;
    const int64_t e = dims.embed;
    const int64_t nh = dims.heads;
    V2Window window(dims, weights, logit_scale, index, config.causal);
    FloatTensor out({nb, n, e});
    if (probs != nullptr) {
        *probs = FloatTensor({nb, nh, n, n});
    }
    std::vector<int64_t> heads(static_cast<size_t>(nh));
    for (int64_t h = 0; h < nh; ++h) {
        heads[h] = h;
    }
    std::vector<double> merged(static_cast<size_t>(n * e));
    for (int64_t b = 0; b < nb; ++b) {
        window.run(
            x.data() + b * n * e, heads,
            [&](int64_t h, int64_t i, const double* row) {
                if (probs != nullptr) {
                    float* dst = probs->data() + ((b * nh + h) * n + i) * n;
                    std::transform(row, row + n, dst,
                                   [](double p) { return static_cast<float>(p); });
                }
            },
            merged.data());
        detail::project_out_double(merged.data(), n, weights, out.data() + b * n * e);
    }
    return out;
}

void swin_v2_probabilities(const FloatTensor& x, const AttentionWeights& weights,
                           const FloatTensor& logit_scale, const EntryIndex& index,
                           const AttentionConfig& config, const std::vector<int64_t>& heads,
                           const ProbabilityRows& sink) {
    const detail::AttentionDims dims = detail::check_attention_inputs(x, weights, index, config);
    detail::check_heads(dims, heads);
    V2Window window(dims, weights, logit_scale, index, config.causal);
    const int64_t n = dims.tokens;
    std::vector<float> row(static_cast<size_t>(n));
    window.run(
        x.data(), heads,
        [&](int64_t h, int64_t i, const double* values) {
            std::transform(values, values + n, row.begin(),
                           [](double p) { return static_cast<float>(p); });
            sink(h, i, 1, row.data());
        },
        nullptr);
}

} // namespace rpb
