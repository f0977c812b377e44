// Index maps: which table entry each (query i, key j) pair reads. math.md sections 1-3.
//
// Sign conventions: T5 buckets are a function of `key - query`; the window schemes (Swin,
// BEiT, timm RelPosBias) of `query - key`. Each function below follows its family.
#pragma once

#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <vector>

namespace rpb {

/// T5 bucket of `relative_position = key - query`, computed in float32 exactly as PyTorch's
/// `_relative_position_bucket` does. Preconditions: params validated (Scheme::validate).
int32_t t5_bucket(int64_t relative_position, const T5Params& params);

/// 1D window entry of (i, j), i, j in [0, W): (i - j) + W - 1.
int32_t window1d_index(int64_t i, int64_t j, int64_t window);

/// 2D Swin/BEiT entry of tokens (t1, t2). Without a class token tokens are r * Ww + c;
/// with one, token 0 is the class token and patches are shifted by one.
int32_t window2d_index(int64_t t1, int64_t t2, int64_t window_h, int64_t window_w, bool cls_token);

/// The obviously-correct per-cell definition: the entry read by query i and key j.
/// For t5 the query's absolute position is offset + i.
int32_t entry_of(const Scheme& scheme, int64_t i, int64_t j);

/// The map in its cheapest form. T5 maps depend on j - i only (a Toeplitz matrix): they are
/// stored as the q + k - 1 distinct entries. Window maps are small and stored densely.
class EntryIndex {
public:
    explicit EntryIndex(const Scheme& scheme);

    int64_t rows() const { return rows_; }
    int64_t cols() const { return cols_; }
    int64_t num_entries() const { return num_entries_; }
    bool is_toeplitz() const { return toeplitz_; }

    /// Entry of (i, j).
    int32_t operator()(int64_t i, int64_t j) const {
        return toeplitz_ ? diagonals_[static_cast<size_t>(j - i + rows_ - 1)]
                         : dense_[static_cast<size_t>(i * cols_ + j)];
    }

    /// Pointer to the `cols()` entries of row i. For Toeplitz maps this points into the
    /// diagonal vector: row i is diagonals()[rows-1-i, rows-1-i+cols).
    const int32_t* row(int64_t i) const {
        return toeplitz_ ? diagonals_.data() + (rows_ - 1 - i) : dense_.data() + i * cols_;
    }

    /// Toeplitz maps only: entry for key - query = d - (rows - 1) - offset at index d.
    const std::vector<int32_t>& diagonals() const { return diagonals_; }

private:
    int64_t rows_ = 0;
    int64_t cols_ = 0;
    int64_t num_entries_ = 0;
    bool toeplitz_ = false;
    std::vector<int32_t> diagonals_;
    std::vector<int32_t> dense_;
};

/// The full (rows, cols) int32 map, filled row by row from EntryIndex (the fast path).
IntTensor index_map(const Scheme& scheme);

/// The same map computed cell by cell with entry_of (the reference the fast path is
/// tested against).
IntTensor index_map_reference(const Scheme& scheme);

/// How a table entry is used by a map: the pairs that read it and, for t5, the range of
/// relative distances key - query it covers (absent when no pair reads it).
struct EntryUsage {
    int32_t entry = 0;
    int64_t pairs = 0;
    bool has_distance_range = false;
    int64_t min_distance = 0;
    int64_t max_distance = 0;
};

/// What a window-table entry stands for: the offset query - key it is read at (dy, dx;
/// dy = 0 for 1d) or, with a class token, one of the three extra entries.
struct WindowOffset {
    enum class Kind { spatial, cls_to_token, token_to_cls, cls_to_cls } kind = Kind::spatial;
    int64_t dy = 0;
    int64_t dx = 0;
};

/// The offset an entry of a 1d or 2d scheme stands for (not meaningful for t5).
WindowOffset window_offset(const Scheme& scheme, int32_t entry);

/// One EntryUsage per table entry, in entry order.
std::vector<EntryUsage> summarize_entries(const Scheme& scheme);

} // namespace rpb
