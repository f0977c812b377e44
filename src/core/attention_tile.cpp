#include "attention_tile.hpp"

#include "attention_internal.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12's AVX-512 headers start some intrinsics from _mm512_undefined_ps(), which
// -Wuninitialized reports at every inlining site (GCC bug 105593): a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace rpb::detail {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

#if defined(__AVX512F__)

// C[RB][16 * NV] = init + A[RB][k] @ B[k][16 * NV]: RB * NV accumulators stay in registers;
// per k step NV loads of B and RB broadcasts of A feed RB * NV FMAs (6 x 4: 24
// accumulators). The last 16-wide group is masked by `tail` (all lanes when cols allow).
template <int RB, int NV>
void micro_kernel(int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                  int64_t ldc, const float* row_scale, const float* col_bias, __mmask16 tail) {
    __m512 acc[RB][NV];
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            const __mmask16 mask = v == NV - 1 ? tail : __mmask16{0xffff};
            if (row_scale != nullptr) {
                acc[r][v] = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, c + r * ldc + 16 * v),
                                          _mm512_set1_ps(row_scale[r]));
            } else if (col_bias != nullptr) {
                acc[r][v] = _mm512_maskz_loadu_ps(mask, col_bias + 16 * v);
            } else {
                acc[r][v] = _mm512_setzero_ps();
            }
        }
    }
    for (int64_t p = 0; p < k; ++p) {
        __m512 bv[NV];
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            bv[v] = v == NV - 1 ? _mm512_maskz_loadu_ps(tail, b + p * ldb + 16 * v)
                                : _mm512_loadu_ps(b + p * ldb + 16 * v);
            // Keeps B in a register: otherwise GCC folds the load into every FMA and the
            // loop becomes load-bound (RB times as many loads).
            asm("" : "+v"(bv[v]));
        }
#pragma GCC unroll 8
        for (int r = 0; r < RB; ++r) {
            const __m512 av = _mm512_set1_ps(a[r * lda + p]);
#pragma GCC unroll 4
            for (int v = 0; v < NV; ++v) {
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) {
            if (v == NV - 1) {
                _mm512_mask_storeu_ps(c + r * ldc + 16 * v, tail, acc[r][v]);
            } else {
                _mm512_storeu_ps(c + r * ldc + 16 * v, acc[r][v]);
            }
        }
    }
}

// Every (rows, vectors) shape of micro_kernel, indexed [rb - 1][nv - 1].
using MicroKernel = void (*)(int64_t, const float*, int64_t, const float*, int64_t, float*, int64_t,
                             const float*, const float*, __mmask16);

template <int RB>
constexpr std::array<MicroKernel, 4> kernels_for_rows = {micro_kernel<RB, 1>, micro_kernel<RB, 2>,
                                                         micro_kernel<RB, 3>, micro_kernel<RB, 4>};

constexpr std::array<std::array<MicroKernel, 4>, 6> micro_kernels = {
    kernels_for_rows<1>, kernels_for_rows<2>, kernels_for_rows<3>,
    kernels_for_rows<4>, kernels_for_rows<5>, kernels_for_rows<6>};

// Lanes of 16-wide group v that lie below `valid`.
inline __mmask16 lane_mask(int64_t valid, int v) {
    const int64_t n = std::clamp<int64_t>(valid - 16 * v, 0, 16);
    return static_cast<__mmask16>((1u << n) - 1u);
}

// exp for x <= 0 (x may be -inf): Cephes expf polynomial on the reduced argument and
// scalef for 2^n; relative error about 2 ulp, and tiny arguments flush to 0.
inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

#else

void micro_generic(int64_t rb, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
                   int64_t ldb, float* c, int64_t ldc, const float* row_scale,
                   const float* col_bias) {
    for (int64_t r = 0; r < rb; ++r) {
        float* crow = c + r * ldc;
        for (int64_t j = 0; j < cols; ++j) {
            float acc = row_scale != nullptr  ? crow[j] * row_scale[r]
                        : col_bias != nullptr ? col_bias[j]
                                              : 0.0f;
            for (int64_t p = 0; p < k; ++p) {
                acc += a[r * lda + p] * b[p * ldb + j];
            }
            crow[j] = acc;
        }
    }
}

#endif

} // namespace

void tile_gemm(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float* c, int64_t ldc, const float* row_scale, const float* col_bias) {
    for (int64_t r0 = 0; r0 < rows;) {
        // Blocks of 6 rows (24 accumulators), then one block of the 1-5 rows left.
        const int64_t rb = std::min<int64_t>(6, rows - r0);
        const float* scale = row_scale == nullptr ? nullptr : row_scale + r0;
#if defined(__AVX512F__)
        for (int64_t c0 = 0; c0 < cols; c0 += 64) {
            const int64_t width = std::min<int64_t>(64, cols - c0);
            const int64_t nv = (width + 15) / 16;
            const auto tail = static_cast<__mmask16>((1u << (width - 16 * (nv - 1))) - 1u);
            micro_kernels[rb - 1][nv - 1](k, a + r0 * lda, lda, b + c0, ldb, c + r0 * ldc + c0, ldc,
                                          scale, col_bias == nullptr ? nullptr : col_bias + c0,
                                          tail);
        }
#else
        micro_generic(rb, cols, k, a + r0 * lda, lda, b, ldb, c + r0 * ldc, ldc, scale, col_bias);
#endif
        r0 += rb;
    }
}

float add_bias_and_mask(float* row, int64_t valid, const TileBias& bias) {
#if defined(__AVX512F__)
    const __m512 neg_inf = _mm512_set1_ps(kNegInf);
    __m512 mx = neg_inf;
    for (int v = 0; v < kBlockKeys / 16; ++v) {
        const __mmask16 mask = lane_mask(valid, v);
        __m512 b;
        if (bias.direct != nullptr) {
            b = _mm512_maskz_loadu_ps(mask, bias.direct + 16 * v);
        } else {
            const __m512i idx = _mm512_maskz_loadu_epi32(mask, bias.index + 16 * v);
            b = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), mask, idx, bias.table, 4);
        }
        const __m512 s = _mm512_mask_add_ps(neg_inf, mask, _mm512_loadu_ps(row + 16 * v), b);
        _mm512_storeu_ps(row + 16 * v, s);
        mx = _mm512_max_ps(mx, s);
    }
    return _mm512_reduce_max_ps(mx);
#else
    float mx = kNegInf;
    for (int64_t j = 0; j < valid; ++j) {
        row[j] += bias.direct != nullptr ? bias.direct[j] : bias.table[bias.index[j]];
        mx = std::max(mx, row[j]);
    }
    std::fill(row + valid, row + kBlockKeys, kNegInf);
    return mx;
#endif
}

float exp_row(float* row, int64_t valid, float row_max, float factor) {
#if defined(__AVX512F__)
    const __m512 m = _mm512_set1_ps(row_max);
    const __m512 f = _mm512_set1_ps(factor);
    __m512 sum = _mm512_setzero_ps();
    for (int v = 0; v < kBlockKeys / 16; ++v) {
        const __mmask16 mask = lane_mask(valid, v);
        const __m512 p =
            _mm512_maskz_mov_ps(mask, exp512(_mm512_sub_ps(_mm512_loadu_ps(row + 16 * v), m)));
        sum = _mm512_add_ps(sum, p);
        _mm512_storeu_ps(row + 16 * v, _mm512_mul_ps(p, f));
    }
    return _mm512_reduce_add_ps(sum);
#else
    float sum = 0.0f;
    for (int64_t j = 0; j < valid; ++j) {
        const float p = std::exp(row[j] - row_max);
        sum += p;
        row[j] = p * factor;
    }
    std::fill(row + valid, row + kBlockKeys, 0.0f);
    return sum;
#endif
}

void exp_inplace(float* v, int64_t n) {
#if defined(__AVX512F__)
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mask = lane_mask(n - i, 0);
        _mm512_mask_storeu_ps(v + i, mask, exp512(_mm512_maskz_loadu_ps(mask, v + i)));
    }
#else
    for (int64_t i = 0; i < n; ++i) {
        v[i] = std::exp(v[i]);
    }
#endif
}

} // namespace rpb::detail
