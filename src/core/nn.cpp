// The ViT's operations, forward beside backward (nn.hpp). Work is split into pieces that depend
// on the shapes only (kRowPiece rows, one (batch, head) pair, kOutPiece output features), so
// that every value is computed the same way whatever the thread count.
#include "rpb/nn.hpp"

#include "nn_math.hpp"
#include "rpb/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

namespace rpb::nn {
namespace {

constexpr int64_t kRowPiece = 256; // rows per piece of a row-parallel op
constexpr int64_t kOutPiece = 16;  // output features per piece of a weight gradient

int64_t pieces(int64_t n, int64_t piece) {
    return (n + piece - 1) / piece;
}

// Runs fn(begin, end) over [0, n) in pieces of `piece`.
template <typename Fn>
void for_pieces(ThreadPool& pool, int64_t n, int64_t piece, Fn&& fn) {
    pool.run(pieces(n, piece), [&](int64_t p) {
        const int64_t begin = p * piece;
        fn(begin, std::min(n, begin + piece));
    });
}

// out[c] = sum over pieces of partial[piece][c], pieces added in order.
void reduce_partials(const std::vector<float>& partial, int64_t count, int64_t channels,
                     float* out) {
    std::fill(out, out + channels, 0.0f);
    for (int64_t p = 0; p < count; ++p) {
        const float* row = partial.data() + p * channels;
        for (int64_t c = 0; c < channels; ++c) {
            out[c] += row[c];
        }
    }
}

} // namespace

void column_sums(ThreadPool& pool, const float* x, int64_t rows, int64_t channels, float* out) {
    const int64_t count = pieces(rows, kRowPiece);
    std::vector<float> partial(static_cast<size_t>(count * channels), 0.0f);
    pool.run(count, [&](int64_t p) {
        float* acc = partial.data() + p * channels;
        const int64_t end = std::min(rows, (p + 1) * kRowPiece);
        for (int64_t r = p * kRowPiece; r < end; ++r) {
            const float* row = x + r * channels;
            for (int64_t c = 0; c < channels; ++c) {
                acc[c] += row[c];
            }
        }
    });
    reduce_partials(partial, count, channels, out);
}

void linear_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                    int64_t rows, int64_t in, int64_t out) {
    for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
        float* yp = y + begin * out;
        float beta = 0.0f;
        if (b != nullptr) {
            for (int64_t r = begin; r < end; ++r) {
                std::copy(b, b + out, y + r * out);
            }
            beta = 1.0f;
        }
        gemm({.trans_b = true, .m = end - begin, .n = out, .k = in}, x + begin * in, in, w, in,
             beta, yp, out);
    });
}

void linear_backward(ThreadPool& pool, const float* dy, const float* x, const float* w, float* dx,
                     float* dw, float* db, int64_t rows, int64_t in, int64_t out) {
    if (dx != nullptr) {
        for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
            gemm({.m = end - begin, .n = in, .k = out}, dy + begin * out, out, w, in, 0.0f,
                 dx + begin * in, in);
        });
    }
    // dw[o, :] = sum_r dy[r, o] x[r, :]: one piece of output features per task, each element
    // one chain over all rows.
    for_pieces(pool, out, kOutPiece, [&](int64_t begin, int64_t end) {
        gemm({.trans_a = true, .m = end - begin, .n = in, .k = rows}, dy + begin, out, x, in, 0.0f,
             dw + begin * in, in);
    });
    if (db != nullptr) {
        column_sums(pool, dy, rows, out, db);
    }
}

void layernorm_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t channels, float eps) {
    const auto n = static_cast<float>(channels);
    for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
        for (int64_t r = begin; r < end; ++r) {
            const float* xr = x + r * channels;
            float sum = 0.0f;
            for (int64_t c = 0; c < channels; ++c) {
                sum += xr[c];
            }
            const float m = sum / n;
            float var = 0.0f;
            for (int64_t c = 0; c < channels; ++c) {
                const float d = xr[c] - m;
                var += d * d;
            }
            const float s = 1.0f / std::sqrt(var / n + eps);
            float* yr = y + r * channels;
            for (int64_t c = 0; c < channels; ++c) {
                yr[c] = (xr[c] - m) * s * w[c] + b[c];
            }
            mean[r] = m;
            rstd[r] = s;
        }
    });
}

void layernorm_backward(ThreadPool& pool, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, float* dx, float* dw, float* db,
                        int64_t rows, int64_t channels) {
    const int64_t count = pieces(rows, kRowPiece);
    std::vector<float> partial(static_cast<size_t>(count * 2 * channels), 0.0f);
    const auto n = static_cast<float>(channels);
    pool.run(count, [&](int64_t p) {
        float* pdw = partial.data() + p * 2 * channels;
        float* pdb = pdw + channels;
        const int64_t end = std::min(rows, (p + 1) * kRowPiece);
        for (int64_t r = p * kRowPiece; r < end; ++r) {
            const float* xr = x + r * channels;
            const float* dyr = dy + r * channels;
            const float m = mean[r];
            const float s = rstd[r];
            // dx = s * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w (llm.c's
            // derivation): two row sums, then one pass.
            float sum_g = 0.0f;
            float sum_gx = 0.0f;
            for (int64_t c = 0; c < channels; ++c) {
                const float xhat = (xr[c] - m) * s;
                const float g = dyr[c] * w[c];
                sum_g += g;
                sum_gx += g * xhat;
                pdw[c] += dyr[c] * xhat;
                pdb[c] += dyr[c];
            }
            if (dx != nullptr) {
                const float mg = sum_g / n;
                const float mgx = sum_gx / n;
                float* dxr = dx + r * channels;
                for (int64_t c = 0; c < channels; ++c) {
                    const float xhat = (xr[c] - m) * s;
                    dxr[c] = s * (dyr[c] * w[c] - mg - xhat * mgx);
                }
            }
        }
    });
    std::fill(dw, dw + channels, 0.0f);
    std::fill(db, db + channels, 0.0f);
    for (int64_t p = 0; p < count; ++p) {
        const float* pdw = partial.data() + p * 2 * channels;
        for (int64_t c = 0; c < channels; ++c) {
            dw[c] += pdw[c];
            db[c] += pdw[channels + c];
        }
    }
}

void gelu_forward(ThreadPool& pool, const float* x, float* y, int64_t n) {
    for_pieces(pool, n, kRowPiece * 64, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float v = x[i];
            y[i] = 0.5f * v * (1.0f + detail::fast_erf(v * 0.70710678118654752f));
        }
    });
}

void gelu_backward(ThreadPool& pool, const float* dy, const float* x, float* dx, int64_t n) {
    for_pieces(pool, n, kRowPiece * 64, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float v = x[i];
            const float cdf = 0.5f * (1.0f + detail::fast_erf(v * 0.70710678118654752f));
            const float pdf = 0.39894228040143268f * detail::fast_exp(-0.5f * v * v);
            dx[i] = dy[i] * (cdf + v * pdf);
        }
    });
}

namespace {

// bias[h][i * T + j] gathered once per call from the (entries, H) table.
std::vector<float> gather_bias(const AttentionShape& s, const float* table, const int32_t* index) {
    const int64_t tt = s.tokens * s.tokens;
    std::vector<float> bias(static_cast<size_t>(s.heads * tt));
    for (int64_t h = 0; h < s.heads; ++h) {
        for (int64_t ij = 0; ij < tt; ++ij) {
            bias[static_cast<size_t>(h * tt + ij)] = table[index[ij] * s.heads + h];
        }
    }
    return bias;
}

} // namespace

void attention_forward(ThreadPool& pool, const AttentionShape& s, const float* qkv,
                       const float* table, const int32_t* index, float* probs, float* out) {
    const int64_t t = s.tokens;
    const int64_t e = s.heads * s.head_dim;
    const std::vector<float> bias =
        table != nullptr ? gather_bias(s, table, index) : std::vector<float>();
    pool.run(s.batch * s.heads, [&](int64_t bh) {
        const int64_t b = bh / s.heads;
        const int64_t h = bh % s.heads;
        const float* q = qkv + b * t * 3 * e + h * s.head_dim;
        const float* k = q + e;
        const float* v = q + 2 * e;
        float* p = probs + bh * t * t;
        gemm({.trans_b = true, .m = t, .n = t, .k = s.head_dim}, q, 3 * e, k, 3 * e, 0.0f, p, t);
        const float* bias_h = bias.empty() ? nullptr : bias.data() + h * t * t;
        for (int64_t i = 0; i < t; ++i) {
            float* row = p + i * t;
            float row_max = -INFINITY;
            for (int64_t j = 0; j < t; ++j) {
                row[j] = row[j] * s.scale + (bias_h != nullptr ? bias_h[i * t + j] : 0.0f);
                row_max = std::max(row_max, row[j]);
            }
            float sum = 0.0f;
            for (int64_t j = 0; j < t; ++j) {
                row[j] = detail::fast_exp(row[j] - row_max);
                sum += row[j];
            }
            const float inv = 1.0f / sum;
            for (int64_t j = 0; j < t; ++j) {
                row[j] *= inv;
            }
        }
        gemm({.m = t, .n = s.head_dim, .k = t}, p, t, v, 3 * e, 0.0f,
             out + b * t * e + h * s.head_dim, e);
    });
}

void attention_backward(ThreadPool& pool, const AttentionShape& s, const float* qkv, float* probs,
                        const float* dout, const int32_t* index, int64_t entries, float* dqkv,
                        float* dtable) {
    const int64_t t = s.tokens;
    const int64_t e = s.heads * s.head_dim;
    std::vector<float> scratch(static_cast<size_t>(s.batch * s.heads * t * t));
    pool.run(s.batch * s.heads, [&](int64_t bh) {
        const int64_t b = bh / s.heads;
        const int64_t h = bh % s.heads;
        const float* q = qkv + b * t * 3 * e + h * s.head_dim;
        const float* k = q + e;
        const float* v = q + 2 * e;
        float* dq = dqkv + b * t * 3 * e + h * s.head_dim;
        float* dk = dq + e;
        float* dv = dq + 2 * e;
        const float* dob = dout + b * t * e + h * s.head_dim;
        float* p = probs + bh * t * t;
        float* dp = scratch.data() + bh * t * t;
        // dv = P^T dO, dP = dO V^T
        gemm({.trans_a = true, .m = t, .n = s.head_dim, .k = t}, p, t, dob, e, 0.0f, dv, 3 * e);
        gemm({.trans_b = true, .m = t, .n = t, .k = s.head_dim}, dob, e, v, 3 * e, 0.0f, dp, t);
        // dS = P * (dP - rowsum(dP * P)): the softmax's backward; kept in p for the table.
        for (int64_t i = 0; i < t; ++i) {
            float* pr = p + i * t;
            const float* dpr = dp + i * t;
            float dot = 0.0f;
            for (int64_t j = 0; j < t; ++j) {
                dot += pr[j] * dpr[j];
            }
            for (int64_t j = 0; j < t; ++j) {
                pr[j] = pr[j] * (dpr[j] - dot);
            }
        }
        // dq = scale dS K, dk = scale dS^T Q (scale applied to the product's operand copy)
        float* ds = dp; // dP is no longer needed: hold scale * dS there
        for (int64_t ij = 0; ij < t * t; ++ij) {
            ds[ij] = p[ij] * s.scale;
        }
        gemm({.m = t, .n = s.head_dim, .k = t}, ds, t, k, 3 * e, 0.0f, dq, 3 * e);
        gemm({.trans_a = true, .m = t, .n = s.head_dim, .k = t}, ds, t, q, 3 * e, 0.0f, dk, 3 * e);
    });
    if (dtable == nullptr) {
        return;
    }
    // dbias[h, i, j] = sum_b dS[b, h, i, j] in batch order, then scattered through the index
    // in (i, j) order: the table's gradient.
    const int64_t tt = t * t;
    std::vector<float> dbias(static_cast<size_t>(s.heads * tt), 0.0f);
    pool.run(s.heads, [&](int64_t h) {
        float* acc = dbias.data() + h * tt;
        for (int64_t b = 0; b < s.batch; ++b) {
            const float* ds = probs + (b * s.heads + h) * tt;
            for (int64_t ij = 0; ij < tt; ++ij) {
                acc[ij] += ds[ij];
            }
        }
    });
    std::fill(dtable, dtable + entries * s.heads, 0.0f);
    for (int64_t ij = 0; ij < tt; ++ij) {
        float* row = dtable + index[ij] * s.heads;
        for (int64_t h = 0; h < s.heads; ++h) {
            row[h] += dbias[static_cast<size_t>(h * tt + ij)];
        }
    }
}

double cross_entropy_forward_backward(const float* logits, const int32_t* labels, int64_t batch,
                                      int64_t classes, float label_smoothing, float* dlogits,
                                      float* row_loss) {
    const double eps = label_smoothing;
    double total = 0.0;
    for (int64_t b = 0; b < batch; ++b) {
        const float* z = logits + b * classes;
        double zmax = z[0];
        for (int64_t c = 1; c < classes; ++c) {
            zmax = std::max(zmax, static_cast<double>(z[c]));
        }
        double sum = 0.0;
        double sum_z = 0.0;
        for (int64_t c = 0; c < classes; ++c) {
            sum += std::exp(static_cast<double>(z[c]) - zmax);
            sum_z += static_cast<double>(z[c]);
        }
        const double log_sum = zmax + std::log(sum);
        const double nll = log_sum - static_cast<double>(z[labels[b]]);
        // mean_k(-log p_k) = log_sum - mean_k(z_k)
        const double smooth = log_sum - sum_z / static_cast<double>(classes);
        const double loss = (1.0 - eps) * nll + eps * smooth;
        total += loss;
        if (row_loss != nullptr) {
            row_loss[b] = static_cast<float>(loss);
        }
        if (dlogits != nullptr) {
            for (int64_t c = 0; c < classes; ++c) {
                const double p = std::exp(static_cast<double>(z[c]) - log_sum);
                const double target =
                    (c == labels[b] ? 1.0 - eps : 0.0) + eps / static_cast<double>(classes);
                dlogits[b * classes + c] =
                    static_cast<float>((p - target) / static_cast<double>(batch));
            }
        }
    }
    return total / static_cast<double>(batch);
}

} // namespace rpb::nn
