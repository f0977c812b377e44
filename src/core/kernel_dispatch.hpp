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
