// The ViT's operations, forward beside backward (nn.hpp). Work is split into pieces that depend
// on the shapes only (kRowPiece rows, one (batch, head) pair, kOutPiece output features), so
// that every value is computed the same way whatever the thread count.
#include "rpb/nn.hpp"

#include "kernel_dispatch.hpp"
#include "rpb/error.hpp"
#include "rpb/gemm.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <optional>
#include <vector>

namespace rpb::nn {
namespace {

constexpr int64_t kRowPiece = 256;         // rows per piece of a row-parallel op
constexpr int64_t kOutPiece = 16;          // output features per piece of a reduction
constexpr int64_t kWeightGradPiece = 512;  // rows per partial weight gradient
constexpr int64_t kElementPiece = 1 << 14; // values per piece of an elementwise op

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

PackedB pack_linear_forward(const float* w, int64_t in, int64_t out) {
    return PackedB({.trans_b = true, .n = out, .k = in}, w, in);
}

PackedB pack_linear_backward(const float* w, int64_t in, int64_t out) {
    return PackedB({.n = in, .k = out}, w, in);
}

void linear_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                    int64_t rows, int64_t in, int64_t out, const PackedB* packed) {
    // The weights are packed once for all row pieces; the bias starts each output's chain.
    std::optional<PackedB> own;
    if (packed == nullptr) {
        packed = &own.emplace(pack_linear_forward(w, in, out));
    }
    for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
        gemm_packed({.trans_b = true, .m = end - begin, .n = out, .k = in}, x + begin * in, in,
                    *packed, b, 0.0f, y + begin * out, out);
    });
}

namespace {

// db (out) = the column sums of dy rows [begin, end), added row by row.
void bias_gradient(const float* dy, int64_t begin, int64_t end, int64_t out, float* db) {
    std::fill(db, db + out, 0.0f);
    for (int64_t r = begin; r < end; ++r) {
        const float* row = dy + r * out;
        for (int64_t o = 0; o < out; ++o) {
            db[o] += row[o];
        }
    }
}

} // namespace

void linear_backward(ThreadPool& pool, const float* dy, const float* x, const float* w, float* dx,
                     float* dw, float* db, int64_t rows, int64_t in, int64_t out,
                     const PackedB* packed_dx) {
    if (dx != nullptr) {
        std::optional<PackedB> own;
        if (packed_dx == nullptr) {
            packed_dx = &own.emplace(pack_linear_backward(w, in, out));
        }
        for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
            gemm_packed({.m = end - begin, .n = in, .k = out}, dy + begin * out, out, *packed_dx,
                        nullptr, 0.0f, dx + begin * in, in);
        });
    }
    const int64_t count = pieces(rows, kWeightGradPiece);
    if (count <= 1) {
        // One piece (a micro-batch's rows): written in place, the same bits as the sum below
        // of one partial.
        gemm({.trans_a = true, .m = out, .n = in, .k = rows}, dy, out, x, in, 0.0f, dw, in);
        if (db != nullptr) {
            bias_gradient(dy, 0, rows, out, db);
        }
        return;
    }
    // dw = sum over pieces of rows of dy_piece^T x_piece, the pieces added in order: every
    // task packs only its own rows (splitting the output features instead made each task pack
    // all of x, which cost more than the products).
    const int64_t wsize = out * in;
    std::vector<float> partial(static_cast<size_t>(count * (wsize + out)));
    pool.run(count, [&](int64_t p) {
        const int64_t begin = p * kWeightGradPiece;
        const int64_t end = std::min(rows, begin + kWeightGradPiece);
        float* pw = partial.data() + p * (wsize + out);
        gemm({.trans_a = true, .m = out, .n = in, .k = end - begin}, dy + begin * out, out,
             x + begin * in, in, 0.0f, pw, in);
        if (db != nullptr) {
            bias_gradient(dy, begin, end, out, pw + wsize);
        }
    });
    // The reduction, split by output feature (each element summed over pieces in order).
    for_pieces(pool, out, kOutPiece, [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
            float* dst = dw + o * in;
            std::fill(dst, dst + in, 0.0f);
            float bsum = 0.0f;
            for (int64_t p = 0; p < count; ++p) {
                const float* pw = partial.data() + p * (wsize + out);
                const float* src = pw + o * in;
                for (int64_t i = 0; i < in; ++i) {
                    dst[i] += src[i];
                }
                bsum += pw[wsize + o];
            }
            if (db != nullptr) {
                db[o] = bsum;
            }
        }
    });
}

void layernorm_forward(ThreadPool& pool, const float* x, const float* w, const float* b, float* y,
                       float* mean, float* rstd, int64_t rows, int64_t channels, float eps) {
    const auto& k = detail::kernel_table();
    for_pieces(pool, rows, kRowPiece, [&](int64_t begin, int64_t end) {
        k.layernorm_forward_rows(x + begin * channels, w, b, y + begin * channels, mean + begin,
                                 rstd + begin, end - begin, channels, eps);
    });
}

void layernorm_backward(ThreadPool& pool, const float* dy, const float* x, const float* w,
                        const float* mean, const float* rstd, float* dx, float* dw, float* db,
                        int64_t rows, int64_t channels) {
    const auto& k = detail::kernel_table();
    const int64_t count = pieces(rows, kRowPiece);
    // Per piece: dw partials then db partials, added in piece order below.
    std::vector<float> partial(static_cast<size_t>(count * 2 * channels), 0.0f);
    pool.run(count, [&](int64_t p) {
        const int64_t begin = p * kRowPiece;
        const int64_t end = std::min(rows, begin + kRowPiece);
        float* pdw = partial.data() + p * 2 * channels;
        k.layernorm_backward_rows(dy + begin * channels, x + begin * channels, w, mean + begin,
                                  rstd + begin, dx != nullptr ? dx + begin * channels : nullptr,
                                  pdw, pdw + channels, end - begin, channels);
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
    const auto& k = detail::kernel_table();
    for_pieces(pool, n, kElementPiece, [&](int64_t begin, int64_t end) {
        k.gelu_forward(x + begin, y + begin, end - begin);
    });
}

void gelu_backward(ThreadPool& pool, const float* dy, const float* x, float* dx, int64_t n) {
    const auto& k = detail::kernel_table();
    for_pieces(pool, n, kElementPiece, [&](int64_t begin, int64_t end) {
        k.gelu_backward(dy + begin, x + begin, dx + begin, end - begin);
    });
}

void add_inplace(ThreadPool& pool, float* y, const float* x, int64_t n) {
    const auto& k = detail::kernel_table();
    for_pieces(pool, n, kElementPiece, [&](int64_t begin, int64_t end) {
        k.add_inplace(y + begin, x + begin, end - begin);
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

namespace {

// Scratch of the per-head kernels, one buffer per thread, kept between calls.
float* head_scratch(int64_t floats) {
    thread_local std::vector<float> scratch;
    if (scratch.size() < static_cast<size_t>(floats)) {
        scratch.resize(static_cast<size_t>(floats));
    }
    return scratch.data();
}

kernels::AttentionHeadArgs head_args(const AttentionShape& s, const float* qkv, int64_t bh) {
    const int64_t t = s.tokens;
    const int64_t e = s.heads * s.head_dim;
    const int64_t b = bh / s.heads;
    const int64_t h = bh % s.heads;
    kernels::AttentionHeadArgs a{};
    a.q = qkv + b * t * 3 * e + h * s.head_dim;
    a.k = a.q + e;
    a.v = a.q + 2 * e;
    a.ld = 3 * e;
    a.tokens = t;
    a.head_dim = s.head_dim;
    a.scale = s.scale;
    a.ldo = e;
    return a;
}

} // namespace

void attention_forward(ThreadPool& pool, const AttentionShape& s, const float* qkv,
                       const float* table, const int32_t* index, float* probs, float* out) {
    const auto& k = detail::kernel_table();
    const int64_t t = s.tokens;
    const int64_t e = s.heads * s.head_dim;
    const std::vector<float> bias =
        table != nullptr ? gather_bias(s, table, index) : std::vector<float>();
    const int64_t scratch = k.attention_head_scratch_floats(t, s.head_dim);
    pool.run(s.batch * s.heads, [&](int64_t bh) {
        kernels::AttentionHeadArgs a = head_args(s, qkv, bh);
        const int64_t b = bh / s.heads;
        const int64_t h = bh % s.heads;
        a.bias = bias.empty() ? nullptr : bias.data() + h * t * t;
        a.probs = probs + bh * t * t;
        a.out = out + b * t * e + h * s.head_dim;
        k.attention_head_forward(a, head_scratch(scratch));
    });
}

void attention_backward(ThreadPool& pool, const AttentionShape& s, const float* qkv, float* probs,
                        const float* dout, const int32_t* index, int64_t entries, float* dqkv,
                        float* dtable) {
    const auto& k = detail::kernel_table();
    const int64_t t = s.tokens;
    const int64_t e = s.heads * s.head_dim;
    const int64_t scratch = k.attention_head_scratch_floats(t, s.head_dim);
    pool.run(s.batch * s.heads, [&](int64_t bh) {
        kernels::AttentionHeadArgs a = head_args(s, qkv, bh);
        const int64_t b = bh / s.heads;
        const int64_t h = bh % s.heads;
        a.probs = probs + bh * t * t;
        a.dout = dout + b * t * e + h * s.head_dim;
        a.dq = dqkv + b * t * 3 * e + h * s.head_dim;
        a.dk = a.dq + e;
        a.dv = a.dq + 2 * e;
        k.attention_head_backward(a, head_scratch(scratch));
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
    return cross_entropy_rows(logits, labels, batch, batch, classes, label_smoothing, dlogits,
                              row_loss) /
           static_cast<double>(batch);
}

void check_labels(const int32_t* labels, int64_t count, int64_t classes) {
    for (int64_t i = 0; i < count; ++i) {
        if (labels[i] < 0 || labels[i] >= classes) {
            throw Error(fmt::format("label {} of image {} is past the model's {} classes",
                                    labels[i], i, classes));
        }
    }
}

int64_t predicted_class(const float* logits, int64_t classes) {
    return std::max_element(logits, logits + classes) - logits;
}

double cross_entropy_rows(const float* logits, const int32_t* labels, int64_t batch,
                          int64_t batch_size, int64_t classes, float label_smoothing,
                          float* dlogits, float* row_loss) {
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
                    static_cast<float>((p - target) / static_cast<double>(batch_size));
            }
        }
    }
    return total;
}

} // namespace rpb::nn
