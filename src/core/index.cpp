#include "rpb/index.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace rpb {

int32_t t5_bucket(int64_t relative_position, const T5Params& params) {
    int64_t n = -relative_position;
    int64_t base = 0;
    int64_t half = params.num_buckets;
    if (params.bidirectional) {
        half /= 2;
        if (n < 0) {
            base = half; // keys after the query use the upper half
        }
        n = std::abs(n);
    } else {
        n = std::max<int64_t>(n, 0); // every future key shares bucket 0
    }
    const int64_t max_exact = half / 2;
    if (n < max_exact) {
        return static_cast<int32_t>(base + n);
    }
    // Float32 throughout, as PyTorch's `relative_position.float() / max_exact` and Mesh
    // TensorFlow's to_float do: a float64 evaluation moves buckets at exact boundaries
    // (n = 16, 32, 64 for 32 buckets and max distance 128).
    const float ratio = static_cast<float>(n) / static_cast<float>(max_exact);
    const auto log_range = static_cast<float>(
        std::log(static_cast<double>(params.max_distance) / static_cast<double>(max_exact)));
    const float scaled = std::log(ratio) / log_range * static_cast<float>(half - max_exact);
    const int64_t large = max_exact + static_cast<int64_t>(scaled); // truncates toward zero
    return static_cast<int32_t>(base + std::min(large, half - 1));
}

int32_t window1d_index(int64_t i, int64_t j, int64_t window) {
    return static_cast<int32_t>((i - j) + window - 1);
}

int32_t window2d_index(int64_t t1, int64_t t2, int64_t window_h, int64_t window_w, bool cls_token) {
    const int64_t spatial = (2 * window_h - 1) * (2 * window_w - 1);
    if (cls_token) {
        if (t1 == 0 && t2 == 0) {
            return static_cast<int32_t>(spatial + 2);
        }
        if (t1 == 0) {
            return static_cast<int32_t>(spatial);
        }
        if (t2 == 0) {
            return static_cast<int32_t>(spatial + 1);
        }
        --t1;
        --t2;
    }
    const int64_t r1 = t1 / window_w, c1 = t1 % window_w;
    const int64_t r2 = t2 / window_w, c2 = t2 % window_w;
    return static_cast<int32_t>((r1 - r2 + window_h - 1) * (2 * window_w - 1) +
                                (c1 - c2 + window_w - 1));
}

int32_t entry_of(const Scheme& scheme, int64_t i, int64_t j) {
    switch (scheme.type) {
    case SchemeType::t5:
        return t5_bucket(j - (scheme.offset + i), scheme.t5);
    case SchemeType::window1d:
        return window1d_index(i, j, scheme.window_w);
    case SchemeType::window2d:
        return window2d_index(i, j, scheme.window_h, scheme.window_w, scheme.cls_token);
    }
    return 0;
}

EntryIndex::EntryIndex(const Scheme& scheme)
    : rows_(scheme.num_queries()), cols_(scheme.num_keys()), num_entries_(scheme.num_entries()),
      toeplitz_(scheme.type != SchemeType::window2d) {
    scheme.validate();
    if (toeplitz_) {
        // Both T5 and 1D entries depend on j - i alone: the first column read bottom-up,
        // then the first row, is every distinct value. Diagonal d holds j - i = d - (rows-1).
        diagonals_.resize(static_cast<size_t>(rows_ + cols_ - 1));
        for (int64_t d = 0; d < rows_ + cols_ - 1; ++d) {
            const int64_t i = std::max<int64_t>(rows_ - 1 - d, 0);
            diagonals_[static_cast<size_t>(d)] = entry_of(scheme, i, i + d - (rows_ - 1));
        }
    } else {
        dense_.resize(static_cast<size_t>(rows_ * cols_));
        for (int64_t i = 0; i < rows_; ++i) {
            for (int64_t j = 0; j < cols_; ++j) {
                dense_[static_cast<size_t>(i * cols_ + j)] = entry_of(scheme, i, j);
            }
        }
    }
}

IntTensor index_map(const Scheme& scheme) {
    const EntryIndex index(scheme);
    IntTensor map({index.rows(), index.cols()});
    for (int64_t i = 0; i < index.rows(); ++i) {
        std::copy_n(index.row(i), index.cols(), map.data() + i * index.cols());
    }
    return map;
}

IntTensor index_map_reference(const Scheme& scheme) {
    scheme.validate();
    IntTensor map({scheme.num_queries(), scheme.num_keys()});
    for (int64_t i = 0; i < map.dim(0); ++i) {
        for (int64_t j = 0; j < map.dim(1); ++j) {
            map.at(i, j) = entry_of(scheme, i, j);
        }
    }
    return map;
}

WindowOffset window_offset(const Scheme& scheme, int32_t entry) {
    WindowOffset offset;
    if (scheme.type == SchemeType::window1d) {
        offset.dx = entry - (scheme.window_w - 1);
        return offset;
    }
    const int64_t columns = 2 * scheme.window_w - 1;
    const int64_t spatial = (2 * scheme.window_h - 1) * columns;
    if (entry >= spatial) {
        using Kind = WindowOffset::Kind;
        const Kind extra[] = {Kind::cls_to_token, Kind::token_to_cls, Kind::cls_to_cls};
        offset.kind = extra[std::min<int64_t>(entry - spatial, 2)];
        return offset;
    }
    offset.dy = entry / columns - (scheme.window_h - 1);
    offset.dx = entry % columns - (scheme.window_w - 1);
    return offset;
}

std::vector<EntryUsage> summarize_entries(const Scheme& scheme) {
    const EntryIndex index(scheme);
    std::vector<EntryUsage> usage(static_cast<size_t>(index.num_entries()));
    for (size_t e = 0; e < usage.size(); ++e) {
        usage[e].entry = static_cast<int32_t>(e);
    }
    const int64_t rows = index.rows(), cols = index.cols();
    if (index.is_toeplitz()) {
        // Diagonal j - i = delta holds one pair per query i with 0 <= i + delta < cols.
        const auto& diagonals = index.diagonals();
        for (int64_t d = 0; d < rows + cols - 1; ++d) {
            const int64_t delta = d - (rows - 1);
            const int64_t pairs = std::min(rows, cols - delta) - std::max<int64_t>(0, -delta);
            EntryUsage& u = usage[static_cast<size_t>(diagonals[static_cast<size_t>(d)])];
            u.pairs += pairs;
            if (scheme.type == SchemeType::t5) {
                const int64_t distance = delta - scheme.offset; // key - absolute query position
                u.min_distance =
                    u.has_distance_range ? std::min(u.min_distance, distance) : distance;
                u.max_distance =
                    u.has_distance_range ? std::max(u.max_distance, distance) : distance;
                u.has_distance_range = true;
            }
        }
    } else {
        for (int64_t i = 0; i < rows; ++i) {
            const int32_t* row = index.row(i);
            for (int64_t j = 0; j < cols; ++j) {
                ++usage[static_cast<size_t>(row[j])].pairs;
            }
        }
    }
    return usage;
}

} // namespace rpb
