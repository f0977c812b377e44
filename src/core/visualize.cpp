#include "rpb/visualize.hpp"

#include "rpb/bias.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <vector>

namespace rpb {

namespace {

// The heads drawn, in order.
std::vector<int64_t> selected_heads(std::optional<int64_t> head, int64_t heads) {
    check_head(head, heads);
    if (head) {
        return {*head};
    }
    std::vector<int64_t> all(static_cast<size_t>(heads));
    for (int64_t h = 0; h < heads; ++h) {
        all[static_cast<size_t>(h)] = h;
    }
    return all;
}

std::string head_title(int64_t h) {
    return fmt::format("head {}", h);
}

void check_table(const Scheme& scheme, const FloatTensor& table) {
    if (table.rank() != 2 || table.dim(0) != scheme.num_entries() || table.dim(1) < 1) {
        throw Error(fmt::format("table of shape {} does not fit {}: expected ({}, heads)",
                                shape_string(table.shape()), scheme.describe(),
                                scheme.num_entries()));
    }
}

// Pixels per cell for a wide panel of few rows: the automatic size (512 / longest side)
// would make a 12 x 255 strip 2 pixels per cell, too thin to read. Up to 2048 pixels wide.
int strip_cell_px(int64_t rows, int64_t cols) {
    if (cols > 2048 || rows > 1024) {
        return 0; // automatic: reduced to the bounds
    }
    return static_cast<int>(std::clamp<int64_t>(std::min(2048 / cols, 1024 / rows), 1, 48));
}

HeatmapSpec bias_matrix(const Scheme& scheme, const FloatTensor& table,
                        const std::vector<int64_t>& heads, std::string title) {
    const int64_t q = scheme.num_queries();
    const int64_t k = scheme.num_keys();
    check_drawable(static_cast<int64_t>(heads.size()) * q * k, "the bias");
    HeatmapSpec spec;
    spec.title = std::move(title);
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    // Rows h * q .. h * q + q - 1 of the (H * q, k) stream are head h.
    const RowSource<float> source = bias_source(scheme, table);
    for (const int64_t h : heads) {
        FloatTensor values({q, k});
        source.fill(h * q, q, values.data());
        spec.panels.push_back({head_title(h), std::move(values)});
    }
    return spec;
}

HeatmapSpec bias_table(const Scheme& scheme, const FloatTensor& table,
                       const std::vector<int64_t>& heads, std::string title, CellMeaning* cells) {
    const int64_t rows = 2 * scheme.window_h - 1;
    const int64_t cols = 2 * scheme.window_w - 1;
    HeatmapSpec spec;
    spec.title = std::move(title);
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    spec.x_label = "dx = query column - key column";
    spec.y_label = "dy = query row - key row";
    spec.x_first = -(scheme.window_w - 1);
    spec.y_first = -(scheme.window_h - 1);
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->row_name = "dy";
        cells->col_name = "dx";
        cells->entry = [cols](int64_t r, int64_t c) { return static_cast<int32_t>(r * cols + c); };
    }
    const int64_t all_heads = table.dim(1);
    for (const int64_t h : heads) {
        FloatTensor values({rows, cols});
        for (int64_t e = 0; e < rows * cols; ++e) {
            values[e] = table[e * all_heads + h];
        }
        spec.panels.push_back({head_title(h), std::move(values)});
    }
    return spec;
}

HeatmapSpec bias_distance(const Scheme& scheme, const FloatTensor& table,
                          const std::vector<int64_t>& heads, std::string title,
                          CellMeaning* cells) {
    const int64_t all_heads = table.dim(1);
    // Entry read at each distance, from the most negative distance up.
    std::vector<int32_t> entries;
    HeatmapSpec spec;
    if (scheme.type == SchemeType::t5) {
        const EntryIndex index(scheme);
        entries = index.diagonals(); // entry at key - query = d - (rows - 1) - offset
        spec.x_first = -(index.rows() - 1) - scheme.offset;
        spec.x_label = "key - query";
    } else {
        for (int32_t e = 0; e < static_cast<int32_t>(scheme.num_entries()); ++e) {
            entries.push_back(e); // entry e is read at query - key = e - (W - 1)
        }
        spec.x_first = -(scheme.window_w - 1);
        spec.x_label = "query - key";
    }
    const auto rows = static_cast<int64_t>(heads.size());
    const auto cols = static_cast<int64_t>(entries.size());
    check_drawable(rows * cols, "the bias by distance");
    spec.title = std::move(title);
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    spec.y_label = "head";
    spec.y_first = heads.front();
    spec.cell_px = strip_cell_px(rows, cols);
    FloatTensor values({rows, cols});
    for (int64_t r = 0; r < rows; ++r) {
        const int64_t h = heads[static_cast<size_t>(r)];
        for (int64_t c = 0; c < cols; ++c) {
            values.at(r, c) = table[entries[static_cast<size_t>(c)] * all_heads + h];
        }
    }
    spec.panels.push_back({rows == 1 ? head_title(heads.front()) : "all heads", std::move(values)});
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->entry_label = scheme.type == SchemeType::t5 ? "bucket" : "table entry";
        cells->row_name = "head";
        cells->entry = [entries = std::make_shared<const std::vector<int32_t>>(std::move(entries))](
                           int64_t, int64_t c) { return (*entries)[static_cast<size_t>(c)]; };
    }
    return spec;
}

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

} // namespace

BiasView parse_bias_view(std::string_view name) {
    if (name == "matrix") {
        return BiasView::matrix;
    }
    if (name == "table") {
        return BiasView::table;
    }
    if (name == "distance") {
        return BiasView::distance;
    }
    throw UsageError(
        fmt::format("--view {}: unknown view: expected matrix, table or distance", name));
}

std::string_view bias_view_name(BiasView view) {
    switch (view) {
    case BiasView::matrix:
        return "matrix";
    case BiasView::table:
        return "table";
    case BiasView::distance:
        return "distance";
    }
    return "";
}

BiasView default_bias_view(const Scheme& scheme) {
    return scheme.type == SchemeType::window2d ? BiasView::table : BiasView::matrix;
}

void check_head(std::optional<int64_t> head, int64_t heads) {
    if (!head || (*head >= 0 && *head < heads)) {
        return;
    }
    throw UsageError(heads == 1 ? fmt::format("--head {} is out of range: there is one panel: "
                                              "expected all or 0",
                                              *head)
                                : fmt::format("--head {} is out of range: expected all or an "
                                              "integer from 0 to {}",
                                              *head, heads - 1));
}

void check_drawable(int64_t values, std::string_view what) {
    if (values > max_drawn_values) {
        throw UsageError(fmt::format("{} has {} values, too many to draw at once (at most {}): "
                                     "pick one head with --head K or use shorter sequences",
                                     what, values, max_drawn_values));
    }
}

CellMeaning pair_meaning(const Scheme& scheme) {
    CellMeaning cells;
    cells.pairs = scheme;
    cells.entry_label = scheme.type == SchemeType::t5 ? "bucket" : "table entry";
    if (scheme.type == SchemeType::window2d) {
        // Computed per cell: a dense map of a large window would cost N^2 entries up front.
        cells.entry = [scheme](int64_t i, int64_t j) { return entry_of(scheme, i, j); };
    } else {
        // T5 and 1d maps are Toeplitz: q + k - 1 entries whatever the lengths.
        cells.entry = [index = std::make_shared<const EntryIndex>(scheme)](int64_t i, int64_t j) {
            return (*index)(i, j);
        };
    }
    return cells;
}

HeatmapSpec bucket_heatmap(const Scheme& scheme, CellMeaning* cells) {
    scheme.validate();
    const int64_t rows = scheme.num_queries();
    const int64_t cols = scheme.num_keys();
    check_drawable(rows * cols, "the bucket map");
    const EntryIndex index(scheme);
    FloatTensor values({rows, cols});
    for (int64_t i = 0; i < rows; ++i) {
        const int32_t* row = index.row(i);
        std::transform(row, row + cols, values.data() + i * cols,
                       [](int32_t e) { return static_cast<float>(e); });
    }
    HeatmapSpec spec;
    spec.title = fmt::format("bucket map | {}", scheme.describe());
    spec.scale = ValueScale::ids;
    spec.value_label = scheme.type == SchemeType::t5 ? "bucket" : "table entry";
    spec.panels.push_back(
        {scheme.type == SchemeType::t5 ? "buckets" : "entries", std::move(values)});
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->pairs = scheme;
    }
    return spec;
}

HeatmapSpec bias_heatmap(const Scheme& scheme, const FloatTensor& table, BiasView view,
                         std::optional<int64_t> head, std::string_view table_source,
                         CellMeaning* cells) {
    scheme.validate();
    check_table(scheme, table);
    const std::vector<int64_t> heads = selected_heads(head, table.dim(1));
    const std::string type(scheme_type_name(scheme.type));
    switch (view) {
    case BiasView::matrix: {
        HeatmapSpec spec = bias_matrix(
            scheme, table, heads, fmt::format("bias | {} | {}", scheme.describe(), table_source));
        if (cells != nullptr) {
            *cells = pair_meaning(scheme);
        }
        return spec;
    }
    case BiasView::table:
        if (scheme.type != SchemeType::window2d) {
            throw UsageError(fmt::format("--view table applies to --type 2d, not --type {}: "
                                         "expected matrix or distance",
                                         type));
        }
        return bias_table(scheme, table, heads,
                          fmt::format("bias table by offset | {}{} | {}", scheme.describe(),
                                      scheme.cls_token ? ", spatial entries only" : "",
                                      table_source),
                          cells);
    case BiasView::distance:
        if (scheme.type == SchemeType::window2d) {
            throw UsageError("--view distance applies to --type t5 or 1d, not --type 2d: "
                             "expected table or matrix");
        }
        return bias_distance(
            scheme, table, heads,
            fmt::format("bias by distance | {} | {}", scheme.describe(), table_source), cells);
    }
    return {};
}

HeatmapSpec attention_heatmap(const FloatTensor& probs, std::optional<int64_t> head,
                              std::string_view description, CellMeaning* cells,
                              const Scheme* scheme) {
    if (probs.rank() != 4 || probs.size() == 0) {
        throw Error(fmt::format("attention probabilities of shape {}: expected a non-empty "
                                "(batch, heads, queries, keys) tensor",
                                shape_string(probs.shape())));
    }
    const int64_t n = probs.dim(2) * probs.dim(3);
    HeatmapSpec spec;
    spec.title = std::string(description);
    spec.scale = ValueScale::linear;
    spec.value_label = "probability";
    for (const int64_t h : selected_heads(head, probs.dim(1))) {
        std::vector<float> values(probs.data() + h * n, probs.data() + (h + 1) * n);
        spec.panels.push_back(
            {head_title(h), FloatTensor({probs.dim(2), probs.dim(3)}, std::move(values))});
    }
    if (cells != nullptr) {
        const bool fits = scheme != nullptr && scheme->num_queries() == probs.dim(2) &&
                          scheme->num_keys() == probs.dim(3);
        *cells = fits ? pair_meaning(*scheme) : CellMeaning{};
    }
    return spec;
}

HeatmapSpec array_heatmap(const Array& array, std::optional<int64_t> head, std::string_view origin,
                          CellMeaning* cells) {
    const auto rank = static_cast<int64_t>(array.shape.size());
    if (rank < 2 || rank > 4) {
        throw Error(fmt::format("{}: array of shape {} has {} dimension{}; expected 2 (one "
                                "panel), 3 (a panel per head) or 4 (attention probabilities, "
                                "batch 0 drawn)",
                                origin, shape_string(array.shape), rank, rank == 1 ? "" : "s"));
    }
    const int64_t size = shape_size(array.shape);
    if (size == 0) {
        throw Error(fmt::format("{}: array of shape {} is empty; nothing to draw", origin,
                                shape_string(array.shape)));
    }
    const int64_t rows = array.shape[static_cast<size_t>(rank - 2)];
    const int64_t cols = array.shape[static_cast<size_t>(rank - 1)];
    const int64_t panels = rank == 2 ? 1 : array.shape[static_cast<size_t>(rank - 3)];
    const std::vector<int64_t> heads = selected_heads(head, panels);
    check_drawable(static_cast<int64_t>(heads.size()) * rows * cols, fmt::format("{}", origin));
    // Every value is checked (NaN anywhere is an error), not only those drawn.
    const FloatTensor values = to_float32(array, origin);

    HeatmapSpec spec;
    spec.title = fmt::format("{}: {} {}{}", origin, dtype_name(array.dtype),
                             shape_string(array.shape), rank == 4 ? ", batch 0" : "");
    if (is_integer(array.dtype)) {
        spec.scale = ValueScale::ids;
        spec.value_label = "id";
    } else {
        // Batch 0 of a 4-d array is the first panels * rows * cols values.
        const auto drawn = values.values().first(static_cast<size_t>(panels * rows * cols));
        const bool signed_data =
            std::any_of(drawn.begin(), drawn.end(), [](float v) { return v < 0; });
        spec.scale = signed_data ? ValueScale::symmetric : ValueScale::linear;
        spec.value_label = "value";
    }
    if (rank == 4 && spec.scale == ValueScale::linear) {
        spec.value_label = "probability";
    }
    const int64_t n = rows * cols;
    for (const int64_t h : heads) {
        std::vector<float> panel(values.data() + h * n, values.data() + (h + 1) * n);
        spec.panels.push_back({rank == 2 ? fmt::format("{} x {}", rows, cols) : head_title(h),
                               FloatTensor({rows, cols}, std::move(panel))});
    }
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->row_name = "row";
        cells->col_name = "column";
    }
    return spec;
}

} // namespace rpb
