// Pictures of arrays read from files (visualize.hpp array_heatmap): the array's values are
// read front to back and reduced as they arrive, so neither an in-memory Array nor an
// NpyStream of any size is ever converted whole.
#include "rpb/error.hpp"
#include "rpb/heatmap_reducer.hpp"
#include "rpb/visualize.hpp"
#include "visualize_internal.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <functional>
#include <vector>

namespace rpb {

namespace {

bool is_integer(DType dtype) {
    switch (dtype) {
    case DType::f16:
    case DType::bf16:
    case DType::f32:
    case DType::f64:
        return false;
    default:
        return true;
    }
}

// The ids an integer dtype can hold, for sizing the colour-bar labels before the values.
ValueBounds id_bounds(DType dtype) {
    switch (dtype) {
    case DType::boolean:
        return {0, 1};
    case DType::u8:
        return {0, 255};
    case DType::i8:
        return {-128, 127};
    case DType::i16:
        return {-32768, 32767};
    case DType::i32:
        return {-2147483648.0, 2147483647.0};
    default: // i64, drawn as float32
        return {-9.223372e18, 9.223372e18};
    }
}

// Reads the next `count` elements of the array as float32 (errors name their positions).
using NextValues = std::function<void(int64_t count, float* out)>;

HeatmapSpec draw_array(DType dtype, const Shape& shape, std::optional<int64_t> head,
                       std::string_view origin, const DrawSize& size, const NextValues& next) {
    const auto rank = static_cast<int64_t>(shape.size());
    if (rank < 2 || rank > 4) {
        throw Error(fmt::format("{}: array of shape {} has {} dimension{}; expected 2 (one "
                                "panel), 3 (a panel per head) or 4 (attention probabilities, "
                                "batch 0 drawn)",
                                origin, shape_string(shape), rank, rank == 1 ? "" : "s"));
    }
    const int64_t total = shape_size(shape);
    if (total == 0) {
        throw Error(fmt::format("{}: array of shape {} is empty; nothing to draw", origin,
                                shape_string(shape)));
    }
    const int64_t rows = shape[static_cast<size_t>(rank - 2)];
    const int64_t cols = shape[static_cast<size_t>(rank - 1)];
    const int64_t panels = rank == 2 ? 1 : shape[static_cast<size_t>(rank - 3)];
    const std::vector<int64_t> heads = detail::selected_heads(head, panels);

    HeatmapSpec spec;
    spec.title = fmt::format("{}: {} {}{}", origin, dtype_name(dtype), shape_string(shape),
                             rank == 4 ? ", batch 0" : "");
    const bool ids = is_integer(dtype);
    // Floats are linear or symmetric, which only the last value decides; both are block means.
    spec.scale = ids ? ValueScale::ids : ValueScale::linear;
    spec.value_label = ids ? "id" : "value";
    detail::apply_size(spec, size);
    std::vector<int64_t> panel_of(static_cast<size_t>(panels), -1); // reducer panel of a head
    for (size_t p = 0; p < heads.size(); ++p) {
        spec.panels.push_back(
            {rank == 2 ? fmt::format("{} x {}", rows, cols) : detail::head_title(heads[p]), {}});
        panel_of[static_cast<size_t>(heads[p])] = static_cast<int64_t>(p);
    }
    HeatmapReducer reducer(std::move(spec), rows, cols, ids ? id_bounds(dtype) : ValueBounds{});

    // Every value is read and checked (NaN anywhere is an error), batch 0's heads are drawn
    // and decide the scale; a piece never spans two (rows, cols) slices.
    const int64_t n = rows * cols;
    const int64_t drawn = panels * n;
    std::vector<float> piece(static_cast<size_t>(std::min(detail::reduce_chunk_values, n)));
    bool signed_data = false;
    for (int64_t e = 0; e < total;) {
        const int64_t count = std::min(detail::reduce_chunk_values, n - e % n);
        next(count, piece.data());
        if (e < drawn) {
            signed_data = signed_data || std::any_of(piece.data(), piece.data() + count,
                                                     [](float v) { return v < 0; });
            const int64_t p = panel_of[static_cast<size_t>(e / n)];
            if (p >= 0) {
                reducer.add_values(static_cast<size_t>(p), piece.data(), count);
            }
        }
        e += count;
    }
    spec = reducer.finish();
    if (!ids) {
        spec.scale = signed_data ? ValueScale::symmetric : ValueScale::linear;
        if (rank == 4 && !signed_data) {
            spec.value_label = "probability";
        }
    }
    return spec;
}

// A file says nothing about positions: its cells are rows and columns only.
void array_cells(CellMeaning* cells) {
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->row_name = "row";
        cells->col_name = "column";
    }
}

} // namespace

HeatmapSpec array_heatmap(const Array& array, std::optional<int64_t> head, std::string_view origin,
                          const DrawSize& size, CellMeaning* cells) {
    array_cells(cells);
    const size_t itemsize = dtype_size(array.dtype);
    // The bytes must hold the shape (as to_float32 checks); a bad rank is named first.
    if (array.shape.size() >= 2 && array.shape.size() <= 4) {
        const int64_t elements =
            shape_size(array.shape, INT64_MAX / static_cast<int64_t>(itemsize));
        if (static_cast<uint64_t>(elements) * itemsize != array.bytes.size()) {
            throw Error(fmt::format("{}: array data is {} bytes, shape {} of {} needs {}", origin,
                                    array.bytes.size(), shape_string(array.shape),
                                    dtype_name(array.dtype),
                                    elements * static_cast<int64_t>(itemsize)));
        }
    }
    int64_t at = 0;
    return draw_array(array.dtype, array.shape, head, origin, size, [&](int64_t count, float* out) {
        convert_to_float32(array.bytes.data() + static_cast<size_t>(at) * itemsize, array.dtype,
                           count, out, array.shape, at, origin);
        at += count;
    });
}

HeatmapSpec array_heatmap(NpyStream& input, std::optional<int64_t> head, const DrawSize& size,
                          CellMeaning* cells) {
    if (input.fortran_order()) {
        // Column-major data is not in row order: read whole, as read_npy does.
        return array_heatmap(input.read_whole(), head, input.origin(), size, cells);
    }
    array_cells(cells);
    return draw_array(input.dtype(), input.shape(), head, input.origin(), size,
                      [&](int64_t count, float* out) { input.read_float32(count, out); });
}

} // namespace rpb
