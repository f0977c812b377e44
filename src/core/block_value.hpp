// The value one drawn cell of a reduced heatmap shows, shared by the figure (PNG, SVG) and the
// page, so that both show the same number for the same block.
#pragma once

#include "rpb/tensor.hpp"

#include <algorithm>
#include <cstdint>

namespace rpb::detail {

/// Cell (bi, bj) of `v` reduced 1:k: the top-left id of its k x k block (ids, or k == 1), else
/// the mean of the values the block covers. `weight(i, j)` is how many values cell (i, j) of v
/// stands for (1 for plain values; pre-reduced cells cover up to k0 x k0), so that the mean of
/// pre-reduced means is the mean of the values. Blocks of the last row or column may be
/// partial. Sums in double in row order.
template <typename Weight>
double block_value(const FloatTensor& v, int64_t bi, int64_t bj, int64_t k, bool ids,
                   const Weight& weight) {
    if (ids || k == 1) {
        return v.at(bi * k, bj * k);
    }
    const int64_t i1 = std::min((bi + 1) * k, v.dim(0));
    const int64_t j1 = std::min((bj + 1) * k, v.dim(1));
    double sum = 0;
    double count = 0;
    for (int64_t i = bi * k; i < i1; ++i) {
        for (int64_t j = bj * k; j < j1; ++j) {
            const double w = weight(i, j);
            sum += w * v.at(i, j);
            count += w;
        }
    }
    return sum / count;
}

} // namespace rpb::detail
