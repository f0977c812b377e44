// The ViT's elementwise, normalisation and per-head attention kernels (contracts in
// kernels.hpp and include/rpb/nn.hpp), for the path this copy is compiled for. Plain loops
// that the compiler vectorises with the path's instructions; every sum runs in kLanes fixed
// lanes added together in a fixed order, so each path gives the same bits (and none needs
// -ffast-math's reassociation to vectorise). Includes only what kernel_types.hpp allows.
#include "kernels.hpp"
#include "vector_math.hpp"

#include <cstddef>
#include <cstdint>
#include <immintrin.h>

namespace rpb::kernels::RPB_KERNEL_NS {
namespace {

constexpr int64_t kLanes = 16;

// e^x to about 1 ulp for x in [-87.3, 88.7] (Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a
// polynomial in r, times 2^n built in the exponent bits); x outside is clamped. Branch-free.
inline float fast_exp(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.72283f ? 88.72283f : x;
    const float shifter = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
    const float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const auto bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    return p * __builtin_bit_cast(float, bits);
}

// erf(x) within 4.2e-7 absolute: x P(x^2) / Q(x^2) on [-4, 4] (Eigen's float erf).
inline float fast_erf(float x) {
    x = x < -4.0f ? -4.0f : x;
    x = x > 4.0f ? 4.0f : x;
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

// The kLanes partial results of a lane loop folded pairwise (lane l with lane l + w, for w =
// 8, 4, 2, 1): a fixed order, the one vector_math.hpp's reduce_add gives, and four dependent
// steps instead of a chain of fifteen.
inline float fold_sum(float (&acc)[kLanes]) {
    for (int64_t w = kLanes / 2; w >= 1; w /= 2) {
        for (int64_t l = 0; l < w; ++l) {
            acc[l] += acc[l + w];
        }
    }
    return acc[0];
}

// Sum of v[0, n) in kLanes lanes, then the lanes folded, then the tail.
inline float lane_sum(const float* v, int64_t n) {
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
            acc[l] += v[i + l];
        }
    }
    float s = fold_sum(acc);
    for (; i < n; ++i) {
        s += v[i];
    }
    return s;
}

// As lane_sum, of a[i] * b[i].
inline float lane_dot(const float* a, const float* b, int64_t n) {
    float acc[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= n; i += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
            acc[l] += a[i + l] * b[i + l];
        }
    }
    float s = fold_sum(acc);
    for (; i < n; ++i) {
        s += a[i] * b[i];
    }
    return s;
}

constexpr int64_t kRowBlock = 4; // rows per register block
#if defined(__AVX512F__)
constexpr int64_t kMaxChunks = 4; // 16-lane chunks per register block: 4 x 4 zmm accumulators
#else
constexpr int64_t kMaxChunks = 1; // 4 x 2 ymm accumulators (16 registers in all)
#endif

int64_t round16(int64_t n) {
    return (n + 15) / 16 * 16;
}

// out[r][c * 16 + l] = sum_p coef[r * coef_row + p * coef_step] * mat[p * mat_row + c * 16 + l]
// for r < R, c < C, l < 16: R * C accumulators stay in registers over the whole sum (one chain
// over p per output, so the blocking never changes a value). mat rows are padded to 16 lanes.
template <int R, int C>
void block_product(const float* coef, int64_t coef_row, int64_t coef_step, int64_t n,
                   const float* mat, int64_t mat_row, float* out, int64_t out_row) {
#if defined(__AVX512F__)
    __m512 acc[R][C];
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
            acc[r][c] = _mm512_setzero_ps();
        }
    }
    for (int64_t p = 0; p < n; ++p) {
        __m512 m[C];
        for (int c = 0; c < C; ++c) {
            m[c] = _mm512_loadu_ps(mat + p * mat_row + c * 16);
        }
        for (int r = 0; r < R; ++r) {
            const __m512 a = _mm512_set1_ps(coef[r * coef_row + p * coef_step]);
            for (int c = 0; c < C; ++c) {
                acc[r][c] = _mm512_fmadd_ps(a, m[c], acc[r][c]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int c = 0; c < C; ++c) {
            _mm512_storeu_ps(out + r * out_row + c * 16, acc[r][c]);
        }
    }
#elif defined(__AVX2__)
    constexpr int V = 2 * C;      // 8-lane vectors
    __m256 acc[R][V];
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) {
            acc[r][v] = _mm256_setzero_ps();
        }
    }
    for (int64_t p = 0; p < n; ++p) {
        __m256 m[V];
        for (int v = 0; v < V; ++v) {
            m[v] = _mm256_loadu_ps(mat + p * mat_row + v * 8);
        }
        for (int r = 0; r < R; ++r) {
            const __m256 a = _mm256_set1_ps(coef[r * coef_row + p * coef_step]);
            for (int v = 0; v < V; ++v) {
                acc[r][v] = _mm256_fmadd_ps(a, m[v], acc[r][v]);
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int v = 0; v < V; ++v) {
            _mm256_storeu_ps(out + r * out_row + v * 8, acc[r][v]);
        }
    }
#else
    float acc[R][C * 16] = {};
    for (int64_t p = 0; p < n; ++p) {
        const float* m = mat + p * mat_row;
        for (int r = 0; r < R; ++r) {
            const float a = coef[r * coef_row + p * coef_step];
            for (int l = 0; l < C * 16; ++l) {
                acc[r][l] += a * m[l];
            }
        }
    }
    for (int r = 0; r < R; ++r) {
        for (int l = 0; l < C * 16; ++l) {
            out[r * out_row + l] = acc[r][l];
        }
    }
#endif
}

template <int R>
void block_product_rows(const float* coef, int64_t coef_row, int64_t coef_step, int64_t n,
                        const float* mat, int64_t mat_row, int64_t chunks, float* out,
                        int64_t out_row) {
    for (int64_t c0 = 0; c0 < chunks; c0 += kMaxChunks) {
        const int64_t c = chunks - c0 < kMaxChunks ? chunks - c0 : kMaxChunks;
        const float* m = mat + c0 * 16;
        float* o = out + c0 * 16;
        switch (c) {
        case 1:
            block_product<R, 1>(coef, coef_row, coef_step, n, m, mat_row, o, out_row);
            break;
        case 2:
            block_product<R, 2>(coef, coef_row, coef_step, n, m, mat_row, o, out_row);
            break;
        case 3:
            block_product<R, 3>(coef, coef_row, coef_step, n, m, mat_row, o, out_row);
            break;
        default:
            block_product<R, 4>(coef, coef_row, coef_step, n, m, mat_row, o, out_row);
            break;
        }
    }
}

// out (rows, chunks * 16) = coef (rows, n) @ mat (n, chunks * 16), coef element (r, p) at
// coef[r * coef_row + p * coef_step] (a transposed operand is just other strides).
void product(const float* coef, int64_t coef_row, int64_t coef_step, int64_t rows, int64_t n,
             const float* mat, int64_t mat_row, int64_t chunks, float* out, int64_t out_row) {
    int64_t r = 0;
    for (; r + kRowBlock <= rows; r += kRowBlock) {
        block_product_rows<4>(coef + r * coef_row, coef_row, coef_step, n, mat, mat_row, chunks,
                              out + r * out_row, out_row);
    }
    for (; r < rows; ++r) {
        block_product_rows<1>(coef + r * coef_row, coef_row, coef_step, n, mat, mat_row, chunks,
                              out + r * out_row, out_row);
    }
}

// dst (rows, cols_padded) = src (rows, cols) with row stride ld, zero-padded.
void copy_padded(const float* src, int64_t ld, int64_t rows, int64_t cols, int64_t padded,
                 float* dst) {
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < padded; ++c) {
            dst[r * padded + c] = c < cols ? src[r * ld + c] : 0.0f;
        }
    }
}

// dst (cols, rows_padded) = src (rows, cols)^T with row stride ld, zero-padded.
void transpose_padded(const float* src, int64_t ld, int64_t rows, int64_t cols, int64_t padded,
                      float* dst) {
    for (int64_t c = 0; c < cols; ++c) {
        for (int64_t r = 0; r < padded; ++r) {
            dst[c * padded + r] = r < rows ? src[r * ld + c] : 0.0f;
        }
    }
}

// dst rows (stride ld) = the first `cols` columns of src (rows, padded) times scale.
void store_rows(const float* src, int64_t padded, int64_t rows, int64_t cols, float scale,
                float* dst, int64_t ld) {
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) {
            dst[r * ld + c] = src[r * padded + c] * scale;
        }
    }
}

// probs[0, t) = softmax(scale * row[j] + bias[j]) over j < t (bias may be null), row
// (t rounded up to 16 floats) is scratch. The max and the sum run over 16 lanes whole
// chunks at a time, the lanes past t holding -inf and then 0, and the sum's lanes are folded
// as fold_sum does; one row's passes stay in registers and L1 (50-token rows spent most of
// their time in loop tails and reduction chains when this was plain loops).
void softmax_row(float* row, int64_t t, float scale, const float* bias, float* probs) {
#if defined(__AVX512F__)
    const __m512 vscale = _mm512_set1_ps(scale);
    const __m512 neg_inf = _mm512_set1_ps(-__builtin_inff());
    __m512 mx = neg_inf;
    for (int64_t j = 0; j < t; j += 16) {
        const Mask mask = lanes(t - j < 16 ? t - j : 16);
        const __m512 x = _mm512_maskz_loadu_ps(mask, row + j);
        const __m512 s = bias != nullptr
                             ? _mm512_fmadd_ps(x, vscale, _mm512_maskz_loadu_ps(mask, bias + j))
                             : _mm512_mul_ps(x, vscale);
        const __m512 v = _mm512_mask_blend_ps(mask, neg_inf, s);
        _mm512_storeu_ps(row + j, v);
        mx = _mm512_max_ps(mx, v);
    }
    const __m512 m = _mm512_set1_ps(reduce_max(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < t; j += 16) {
        const Mask mask = lanes(t - j < 16 ? t - j : 16);
        const __m512 e =
            _mm512_maskz_mov_ps(mask, exp_vec(_mm512_sub_ps(_mm512_loadu_ps(row + j), m)));
        _mm512_storeu_ps(row + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / reduce_add(sum));
    for (int64_t j = 0; j < t; j += 16) {
        const Mask mask = lanes(t - j < 16 ? t - j : 16);
        _mm512_mask_storeu_ps(probs + j, mask, _mm512_mul_ps(_mm512_loadu_ps(row + j), inv));
    }
#elif defined(__AVX2__)
    // 16 lanes as two 8-lane halves (lo: lanes 0-7, hi: 8-15), so that the sum folds as on
    // the AVX-512 path: lo + hi is lane l + lane l + 8.
    const __m256 vscale = _mm256_set1_ps(scale);
    const __m256 neg_inf = _mm256_set1_ps(-__builtin_inff());
    const int64_t tp = (t + 15) / 16 * 16;
    __m256 mx = neg_inf;
    for (int64_t j = 0; j < tp; j += 8) {
        const Mask mask = lanes(t - j < 0 ? 0 : t - j < 8 ? t - j : 8);
        const __m256 x = _mm256_maskload_ps(row + j, mask);
        const __m256 s = bias != nullptr
                             ? _mm256_fmadd_ps(x, vscale, _mm256_maskload_ps(bias + j, mask))
                             : _mm256_mul_ps(x, vscale);
        const __m256 v = _mm256_blendv_ps(neg_inf, s, _mm256_castsi256_ps(mask));
        _mm256_storeu_ps(row + j, v);
        mx = _mm256_max_ps(mx, v);
    }
    const __m256 m = _mm256_set1_ps(reduce_max(mx));
    __m256 lo = _mm256_setzero_ps();
    __m256 hi = _mm256_setzero_ps();
    for (int64_t j = 0; j < tp; j += 16) {
        const __m256 e0 = _mm256_and_ps(_mm256_castsi256_ps(lanes(t - j < 0   ? 0
                                                                  : t - j < 8 ? t - j
                                                                              : 8)),
                                        exp_vec(_mm256_sub_ps(_mm256_loadu_ps(row + j), m)));
        const __m256 e1 = _mm256_and_ps(_mm256_castsi256_ps(lanes(t - j - 8 < 0   ? 0
                                                                  : t - j - 8 < 8 ? t - j - 8
                                                                                  : 8)),
                                        exp_vec(_mm256_sub_ps(_mm256_loadu_ps(row + j + 8), m)));
        _mm256_storeu_ps(row + j, e0);
        _mm256_storeu_ps(row + j + 8, e1);
        lo = _mm256_add_ps(lo, e0);
        hi = _mm256_add_ps(hi, e1);
    }
    const __m256 inv = _mm256_set1_ps(1.0f / reduce_add(_mm256_add_ps(lo, hi)));
    for (int64_t j = 0; j < t; j += 8) {
        const Mask mask = lanes(t - j < 8 ? t - j : 8);
        _mm256_maskstore_ps(probs + j, mask, _mm256_mul_ps(_mm256_loadu_ps(row + j), inv));
    }
#else
    float mx = -__builtin_inff();
    for (int64_t j = 0; j < t; ++j) {
        row[j] = row[j] * scale + (bias != nullptr ? bias[j] : 0.0f);
        mx = row[j] > mx ? row[j] : mx;
    }
    const int64_t tp = (t + kLanes - 1) / kLanes * kLanes;
    float sum[kLanes] = {};
    for (int64_t j0 = 0; j0 < tp; j0 += kLanes) {
        for (int64_t l = 0; l < kLanes; ++l) {
            const int64_t j = j0 + l;
            const float e = j < t ? fast_exp(row[j] - mx) : 0.0f;
            row[j] = e;
            sum[l] += e;
        }
    }
    const float inv = 1.0f / fold_sum(sum);
    for (int64_t j = 0; j < t; ++j) {
        probs[j] = row[j] * inv;
    }
#endif
}

} // namespace

// Scratch layout (tp = T rounded up to 16, dp = d rounded up): four (T, dp) operand copies, a
// (d, tp) transposed one, and two (T, tp) logit-sized buffers.
int64_t attention_head_scratch_floats(int64_t tokens, int64_t head_dim) {
    const int64_t tp = round16(tokens);
    const int64_t dp = round16(head_dim);
    return 4 * tokens * dp + head_dim * tp + 2 * tokens * tp;
}

void attention_head_forward(const AttentionHeadArgs& a, float* scratch) {
    const int64_t t = a.tokens;
    const int64_t d = a.head_dim;
    const int64_t tp = round16(t);
    const int64_t dp = round16(d);
    float* qp = scratch;          // (t, dp)
    float* vp = qp + t * dp;      // (t, dp)
    float* kt = vp + t * dp;      // (d, tp)
    float* logits = kt + d * tp;  // (t, tp)
    float* out = logits + t * tp; // (t, dp)
    copy_padded(a.q, a.ld, t, d, dp, qp);
    copy_padded(a.v, a.ld, t, d, dp, vp);
    transpose_padded(a.k, a.ld, t, d, tp, kt);
    // logits = Q K^T, one chain over the channels per logit
    product(qp, dp, 1, t, d, kt, tp, tp / 16, logits, tp);
    for (int64_t i = 0; i < t; ++i) {
        softmax_row(logits + i * tp, t, a.scale, a.bias != nullptr ? a.bias + i * t : nullptr,
                    a.probs + i * t);
    }
    // out = P V
    product(a.probs, t, 1, t, t, vp, dp, dp / 16, out, dp);
    store_rows(out, dp, t, d, 1.0f, a.out, a.ldo);
}

void attention_head_backward(const AttentionHeadArgs& a, float* scratch) {
    const int64_t t = a.tokens;
    const int64_t d = a.head_dim;
    const int64_t tp = round16(t);
    const int64_t dp = round16(d);
    float* qp = scratch;        // (t, dp)
    float* kp = qp + t * dp;    // (t, dp)
    float* gp = kp + t * dp;    // (t, dp): dO
    float* res = gp + t * dp;   // (t, dp): a result before it is stored
    float* vt = res + t * dp;   // (d, tp)
    float* dprob = vt + d * tp; // (t, tp)
    copy_padded(a.q, a.ld, t, d, dp, qp);
    copy_padded(a.k, a.ld, t, d, dp, kp);
    copy_padded(a.dout, a.ldo, t, d, dp, gp);
    transpose_padded(a.v, a.ld, t, d, tp, vt);
    // dV = P^T dO
    product(a.probs, 1, t, t, t, gp, dp, dp / 16, res, dp);
    store_rows(res, dp, t, d, 1.0f, a.dv, a.ld);
    // dP = dO V^T
    product(gp, dp, 1, t, d, vt, tp, tp / 16, dprob, tp);
    // dS = P * (dP - <P, dP>): softmax's backward; kept in probs for the table's gradient.
    for (int64_t i = 0; i < t; ++i) {
        float* __restrict p = a.probs + i * t;
        const float* __restrict g = dprob + i * tp;
        const float dot = lane_dot(p, g, t);
        for (int64_t j = 0; j < t; ++j) {
            p[j] = p[j] * (g[j] - dot);
        }
    }
    // dQ = scale dS K, dK = scale dS^T Q
    product(a.probs, t, 1, t, t, kp, dp, dp / 16, res, dp);
    store_rows(res, dp, t, d, a.scale, a.dq, a.ld);
    product(a.probs, 1, t, t, t, qp, dp, dp / 16, res, dp);
    store_rows(res, dp, t, d, a.scale, a.dk, a.ld);
}

void layernorm_forward_rows(const float* x, const float* w, const float* b, float* y, float* mean,
                            float* rstd, int64_t rows, int64_t channels, float eps) {
    const float inv_n = 1.0f / static_cast<float>(channels);
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict xr = x + r * channels;
        float* __restrict yr = y + r * channels;
        const float m = lane_sum(xr, channels) * inv_n;
        for (int64_t c = 0; c < channels; ++c) {
            yr[c] = xr[c] - m; // the centred row, reused for the variance
        }
        const float var = lane_dot(yr, yr, channels) * inv_n;
        const float s = 1.0f / __builtin_sqrtf(var + eps);
        for (int64_t c = 0; c < channels; ++c) {
            yr[c] = yr[c] * s * w[c] + b[c];
        }
        mean[r] = m;
        rstd[r] = s;
    }
}

void layernorm_backward_rows(const float* dy, const float* x, const float* w, const float* mean,
                             const float* rstd, float* dx, float* dw_acc, float* db_acc,
                             int64_t rows, int64_t channels) {
    const float inv_n = 1.0f / static_cast<float>(channels);
    for (int64_t r = 0; r < rows; ++r) {
        const float* __restrict xr = x + r * channels;
        const float* __restrict g = dy + r * channels;
        const float m = mean[r];
        const float s = rstd[r];
        float sum_g = 0.0f;
        float sum_gx = 0.0f;
        {
            float acc_g[kLanes] = {};
            float acc_gx[kLanes] = {};
            int64_t c = 0;
            for (; c + kLanes <= channels; c += kLanes) {
                for (int64_t l = 0; l < kLanes; ++l) {
                    const float xhat = (xr[c + l] - m) * s;
                    const float gw = g[c + l] * w[c + l];
                    acc_g[l] += gw;
                    acc_gx[l] += gw * xhat;
                    dw_acc[c + l] += g[c + l] * xhat;
                    db_acc[c + l] += g[c + l];
                }
            }
            for (int64_t l = 0; l < kLanes; ++l) {
                sum_g += acc_g[l];
                sum_gx += acc_gx[l];
            }
            for (; c < channels; ++c) {
                const float xhat = (xr[c] - m) * s;
                const float gw = g[c] * w[c];
                sum_g += gw;
                sum_gx += gw * xhat;
                dw_acc[c] += g[c] * xhat;
                db_acc[c] += g[c];
            }
        }
        if (dx != nullptr) {
            // dx = s (g w - mean(g w) - xhat mean(g w xhat)), llm.c's derivation
            const float mg = sum_g * inv_n;
            const float mgx = sum_gx * inv_n;
            float* __restrict dxr = dx + r * channels;
            for (int64_t c = 0; c < channels; ++c) {
                const float xhat = (xr[c] - m) * s;
                dxr[c] = s * (g[c] * w[c] - mg - xhat * mgx);
            }
        }
    }
}

void gelu_forward(const float* x, float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        y[i] = 0.5f * v * (1.0f + fast_erf(v * 0.70710678118654752f));
    }
}

void gelu_backward(const float* dy, const float* x, float* dx, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        const float cdf = 0.5f * (1.0f + fast_erf(v * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * fast_exp(-0.5f * v * v);
        dx[i] = dy[i] * (cdf + v * pdf);
    }
}

void add_inplace(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        y[i] += x[i];
    }
}

} // namespace rpb::kernels::RPB_KERNEL_NS
