// Heatmap panels reduced while their values stream in: a map of any size (the (12, 8192, 8192)
// bias of a long sequence, an .npy array piped in) becomes the cells render_heatmap draws, in
// memory bounded by the picture, not by the map. The reduction is chosen before the first
// value (heatmap_reduction), so that each value is folded into its cell as it arrives.
//
// A reduced cell is what render_heatmap draws for a whole panel reduced 1:k: for ids the
// top-left id of its k x k block; for values the mean of the block, summed in double in row
// order and stored as float32. Blocks of the last row and column hold what is left when rows
// or cols are not multiples of k (rows - (rows / k) * k of them), and their mean is over the
// values they hold. The colour bar spans the raw values' [min, max], gathered as they stream.
#pragma once

#include "rpb/heatmap.hpp"

#include <cstdint>
#include <vector>

namespace rpb {

class HeatmapReducer {
public:
    /// `spec` is the picture (heatmap.hpp) with one titled panel per map, values empty; every
    /// map is (rows, cols). Chooses the reduction with heatmap_reduction(spec, rows, cols,
    /// bounds) and throws what it throws.
    HeatmapReducer(HeatmapSpec spec, int64_t rows, int64_t cols, const ValueBounds& bounds = {});

    /// k: a drawn cell stands for a k x k block of values (1: every value is kept).
    int64_t reduction() const { return k_; }
    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }

    /// Adds the next `count` values of panel `panel` (row-major; any count, rows may be split
    /// between calls). Each panel's values arrive in order; panels may interleave. Throws
    /// rpb::Error "panel 'head 0' holds nan at (i, j); only finite values can be drawn" for a
    /// NaN or infinity, and for a panel out of range or more values than the panel has.
    void add_values(size_t panel, const float* values, int64_t count);

    /// The spec with its panels filled: the values themselves when k == 1, otherwise the
    /// (ceil(rows/k), ceil(cols/k)) drawn cells with spec.reduced set. Throws rpb::Error when
    /// a panel has not received all of its rows * cols values. Call once.
    HeatmapSpec finish();

private:
    struct PanelState {
        int64_t row = 0; ///< position of the next value
        int64_t col = 0;
        std::vector<double> sums; ///< the current block row's sums (means, k > 1)
    };

    void add_segment(size_t panel, const float* values, int64_t count);
    void end_block_row(size_t panel);

    HeatmapSpec spec_;
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    int64_t k_ = 1;
    int64_t cell_rows_ = 0;
    int64_t cell_cols_ = 0;
    bool ids_ = false;
    double min_ = 0;
    double max_ = 0;
    bool any_ = false;
    std::vector<PanelState> state_;
};

} // namespace rpb
