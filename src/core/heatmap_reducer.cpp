#include "rpb/heatmap_reducer.hpp"

#include "rpb/array.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace rpb {

HeatmapReducer::HeatmapReducer(HeatmapSpec spec, int64_t rows, int64_t cols,
                               const ValueBounds& bounds)
    : spec_(std::move(spec)), rows_(rows), cols_(cols) {
    if (spec_.panels.empty()) {
        throw Error("no panels to draw; give at least one 2-d tensor");
    }
    k_ = heatmap_reduction(spec_, rows, cols, bounds);
    ids_ = spec_.scale == ValueScale::ids;
    cell_rows_ = (rows + k_ - 1) / k_;
    cell_cols_ = (cols + k_ - 1) / k_;
    state_.resize(spec_.panels.size());
    for (size_t p = 0; p < state_.size(); ++p) {
        spec_.panels[p].values = FloatTensor({cell_rows_, cell_cols_});
        if (k_ > 1 && !ids_) {
            state_[p].sums.assign(static_cast<size_t>(cell_cols_), 0.0);
        }
    }
}

void HeatmapReducer::add_values(size_t panel, const float* values, int64_t count) {
    if (panel >= state_.size()) {
        throw Error(
            fmt::format("panel {} is out of range: the picture has {}", panel, state_.size()));
    }
    PanelState& s = state_[panel];
    const int64_t left = (rows_ - s.row) * cols_ - s.col;
    if (count < 0 || count > left) {
        throw Error(fmt::format("panel '{}' is given {} more values, {} are left of its {} x {}",
                                spec_.panels[panel].title, count, left, rows_, cols_));
    }
    const int64_t bad = first_non_finite(values, count);
    if (bad < count) {
        const int64_t at = s.row * cols_ + s.col + bad;
        throw Error(fmt::format("panel '{}' holds {} at ({}, {}); only finite values can be drawn",
                                spec_.panels[panel].title, values[bad], at / cols_, at % cols_));
    }
    if (count > 0) {
        const auto [lo, hi] = std::minmax_element(values, values + count);
        min_ = any_ ? std::min(min_, static_cast<double>(*lo)) : *lo;
        max_ = any_ ? std::max(max_, static_cast<double>(*hi)) : *hi;
        any_ = true;
    }
    while (count > 0) {
        const int64_t take = std::min(count, cols_ - s.col);
        add_segment(panel, values, take);
        values += take;
        count -= take;
        s.col += take;
        if (s.col == cols_) {
            s.col = 0;
            ++s.row;
            if (s.row % k_ == 0 || s.row == rows_) {
                end_block_row(panel);
            }
        }
    }
}

// Values [col, col + count) of the current row, within one row.
void HeatmapReducer::add_segment(size_t panel, const float* values, int64_t count) {
    PanelState& s = state_[panel];
    float* cells = spec_.panels[panel].values.data() + s.row / k_ * cell_cols_;
    if (k_ == 1) {
        std::copy_n(values, count, cells + s.col);
        return;
    }
    const int64_t end = s.col + count;
    if (ids_) {
        // The top-left id of each block: rows and columns that are multiples of k.
        if (s.row % k_ == 0) {
            for (int64_t j = (s.col + k_ - 1) / k_ * k_; j < end; j += k_) {
                cells[j / k_] = values[j - s.col];
            }
        }
        return;
    }
    // Block by block, each block's columns in order: the sums add the values in the order
    // render_heatmap's block mean does (row by row, left to right), so the bits agree.
    for (int64_t j = s.col; j < end;) {
        const int64_t block = j / k_;
        const int64_t stop = std::min(end, (block + 1) * k_);
        double sum = s.sums[static_cast<size_t>(block)];
        for (; j < stop; ++j) {
            sum += static_cast<double>(values[j - s.col]);
        }
        s.sums[static_cast<size_t>(block)] = sum;
    }
}

// The block row that ended at row s.row - 1: its means, the last blocks possibly partial.
void HeatmapReducer::end_block_row(size_t panel) {
    PanelState& s = state_[panel];
    if (k_ == 1 || ids_) {
        return;
    }
    const int64_t bi = (s.row - 1) / k_;
    const int64_t block_rows = s.row - bi * k_;
    float* cells = spec_.panels[panel].values.data() + bi * cell_cols_;
    for (int64_t bj = 0; bj < cell_cols_; ++bj) {
        const int64_t block_cols = std::min(cols_, (bj + 1) * k_) - bj * k_;
        double& sum = s.sums[static_cast<size_t>(bj)];
        cells[bj] = static_cast<float>(sum / static_cast<double>(block_rows * block_cols));
        sum = 0;
    }
}

HeatmapSpec HeatmapReducer::finish() {
    for (size_t p = 0; p < state_.size(); ++p) {
        if (state_[p].row != rows_) {
            throw Error(fmt::format("panel '{}' has {} of its {} x {} values; nothing drawn",
                                    spec_.panels[p].title, state_[p].row * cols_ + state_[p].col,
                                    rows_, cols_));
        }
    }
    if (k_ > 1) {
        spec_.reduced = PreReduced{rows_, cols_, k_, min_, max_};
    }
    state_.clear();
    return std::move(spec_);
}

} // namespace rpb
