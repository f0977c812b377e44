// gemm: for now OpenBLAS's sgemm on the calling thread (OpenBLAS set to one thread by the
// caller's BlasSingleThreadScope); the issue "full speed on every x86 CPU" replaces it with
// kernels chosen from the CPU's features.
#include "rpb/gemm.hpp"

#include "rpb/attention.hpp"

#include <cblas.h>

namespace rpb {

void gemm(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
    if (s.m == 0 || s.n == 0) {
        return;
    }
    // Callers run gemm on their own threads: OpenBLAS's pool would only contend with them.
    static const BlasSingleThreadScope single_threaded;
    cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans,
                s.trans_b ? CblasTrans : CblasNoTrans, static_cast<blasint>(s.m),
                static_cast<blasint>(s.n), static_cast<blasint>(s.k), 1.0f, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
                static_cast<blasint>(ldc));
}

void gemm_reference(const GemmShape& s, const float* a, int64_t lda, const float* b, int64_t ldb,
                    float beta, float* c, int64_t ldc) {
    for (int64_t i = 0; i < s.m; ++i) {
        for (int64_t j = 0; j < s.n; ++j) {
            double sum = beta == 0.0f ? 0.0 : static_cast<double>(c[i * ldc + j]);
            for (int64_t p = 0; p < s.k; ++p) {
                const float av = s.trans_a ? a[p * lda + i] : a[i * lda + p];
                const float bv = s.trans_b ? b[j * ldb + p] : b[p * ldb + j];
                sum += static_cast<double>(av) * static_cast<double>(bv);
            }
            c[i * ldc + j] = static_cast<float>(sum);
        }
    }
}

} // namespace rpb
