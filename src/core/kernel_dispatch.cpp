// One table of function pointers per kernel path, chosen per call from kernel_path() (a
// cached value): the kernels are compiled into namespaces named after their path
// (src/kernels/, see CMakeLists.txt), and only the chosen path's code ever runs.
#include "kernel_dispatch.hpp"

#define RPB_KERNEL_NS scalar
#include "../kernels/kernels.hpp"
#undef RPB_KERNEL_NS
#define RPB_KERNEL_NS avx2
#include "../kernels/kernels.hpp"
#undef RPB_KERNEL_NS
#define RPB_KERNEL_NS avx512
#include "../kernels/kernels.hpp"
#undef RPB_KERNEL_NS

namespace rpb::detail {
namespace {

#define RPB_KERNEL_TABLE(ns)                                                                       \
    KernelTable {                                                                                  \
        kernels::ns::tile_gemm, kernels::ns::add_bias_and_mask, kernels::ns::exp_row,              \
            kernels::ns::exp_inplace, kernels::ns::gemm_scratch_floats, kernels::ns::gemm,         \
            kernels::ns::gemm_packed_b_floats, kernels::ns::gemm_pack_b,                           \
            kernels::ns::attention_head_scratch_floats, kernels::ns::attention_head_forward,       \
            kernels::ns::attention_head_backward, kernels::ns::layernorm_forward_rows,             \
            kernels::ns::layernorm_backward_rows, kernels::ns::gelu_forward,                       \
            kernels::ns::gelu_backward, kernels::ns::add_inplace                                   \
    }

constexpr KernelTable scalar_table = RPB_KERNEL_TABLE(scalar);
constexpr KernelTable avx2_table = RPB_KERNEL_TABLE(avx2);
constexpr KernelTable avx512_table = RPB_KERNEL_TABLE(avx512);

#undef RPB_KERNEL_TABLE

} // namespace

const KernelTable& kernel_table(KernelPath path) {
    switch (path) {
    case KernelPath::avx512:
        return avx512_table;
    case KernelPath::avx2:
        return avx2_table;
    case KernelPath::scalar:
        break;
    }
    return scalar_table;
}

const KernelTable& kernel_table() {
    return kernel_table(kernel_path());
}

} // namespace rpb::detail
