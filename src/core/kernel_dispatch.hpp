// The kernel table: for each kernel path, pointers to the functions of src/kernels/ compiled
// for it. Adding a kernel: declare it in src/kernels/kernels.hpp, define it in a file of
// src/kernels/ (compiled once per path), add a member here and an entry in each table of
// kernel_dispatch.cpp, and call it through kernel_table().
#pragma once

#include "../kernels/kernel_types.hpp"
#include "rpb/cpu.hpp"

#include <cstdint>

namespace rpb::detail {

struct KernelTable {
    void (*tile_gemm)(int64_t rows, int64_t cols, int64_t k, const float* a, int64_t lda,
                      const float* b, int64_t ldb, float* c, int64_t ldc, const float* row_scale,
                      const float* col_bias);
    float (*add_bias_and_mask)(float* row, int64_t valid, const kernels::TileBias& bias);
    float (*exp_row)(float* row, int64_t valid, float row_max, float factor);
    void (*exp_inplace)(float* v, int64_t n);
    int64_t (*gemm_scratch_floats)(int64_t n, int64_t k);
    void (*gemm)(const kernels::GemmArgs& args, float* scratch);
    int64_t (*gemm_packed_b_floats)(int64_t n, int64_t k);
    void (*gemm_pack_b)(const kernels::GemmArgs& args, float* dst);
    int64_t (*attention_head_scratch_floats)(int64_t tokens, int64_t head_dim);
    void (*attention_head_forward)(const kernels::AttentionHeadArgs& args, float* scratch);
    void (*attention_head_backward)(const kernels::AttentionHeadArgs& args, float* scratch);
    void (*layernorm_forward_rows)(const float* x, const float* w, const float* b, float* y,
                                   float* mean, float* rstd, int64_t rows, int64_t channels,
                                   float eps);
    void (*layernorm_backward_rows)(const float* dy, const float* x, const float* w,
                                    const float* mean, const float* rstd, float* dx, float* dw_acc,
                                    float* db_acc, int64_t rows, int64_t channels);
    void (*gelu_forward)(const float* x, float* y, int64_t n);
    void (*gelu_backward)(const float* dy, const float* x, float* dx, int64_t n);
    void (*add_inplace)(float* y, const float* x, int64_t n);
};

/// The table of `path`.
const KernelTable& kernel_table(KernelPath path);

/// The table of kernel_path(); throws as kernel_path() does.
const KernelTable& kernel_table();

/// Tests only: makes kernel_path() return `path` (which the CPU must support: UsageError
/// otherwise) until cleared, whatever RPB_KERNEL_PATH says. Not for use while other threads
/// compute.
void set_kernel_path_for_testing(KernelPath path);
void clear_kernel_path_for_testing();

} // namespace rpb::detail
