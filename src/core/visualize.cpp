#include "rpb/visualize.hpp"

#include "rpb/bias.hpp"
#include "rpb/error.hpp"
#include "rpb/heatmap_reducer.hpp"
#include "rpb/index.hpp"
#include "visualize_internal.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <vector>

namespace rpb {

namespace detail {

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

void apply_size(HeatmapSpec& spec, const DrawSize& size) {
    if (size.cell_px > 0) {
        spec.cell_px = size.cell_px;
    }
    spec.max_panel_px = size.max_panel_px;
    spec.max_side_px = size.max_side_px;
    spec.max_cells = size.max_cells;
}

} // namespace detail

namespace {

using detail::apply_size;
using detail::head_title;
using detail::reduce_chunk_values;
using detail::selected_heads;

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
                        const std::vector<int64_t>& heads, std::string title,
                        const DrawSize& size) {
    const int64_t q = scheme.num_queries();
    const int64_t k = scheme.num_keys();
    HeatmapSpec spec;
    spec.title = std::move(title);
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    apply_size(spec, size);
    for (const int64_t h : heads) {
        spec.panels.push_back({head_title(h), {}});
    }
    // Rows h * q .. h * q + q - 1 of the (H * q, k) stream are head h, reduced as they come.
    HeatmapReducer reducer(std::move(spec), q, k);
    const RowSource<float> source = bias_source(scheme, table);
    const int64_t chunk = std::clamp<int64_t>(reduce_chunk_values / k, 1, q);
    std::vector<float> rows(static_cast<size_t>(chunk * k));
    for (size_t p = 0; p < heads.size(); ++p) {
        for (int64_t r = 0; r < q; r += chunk) {
            const int64_t n = std::min(chunk, q - r);
            source.fill(heads[p] * q + r, n, rows.data());
            reducer.add_values(p, rows.data(), n * k);
        }
    }
    return reducer.finish();
}

HeatmapSpec bias_table(const Scheme& scheme, const FloatTensor& table,
                       const std::vector<int64_t>& heads, std::string title, const DrawSize& size,
                       CellMeaning* cells) {
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
    apply_size(spec, size);
    return spec;
}

// The entry read at each relative distance, from the most negative distance up.
struct Distances {
    std::vector<int32_t> entries;
    int64_t first = 0; // the distance of entries[0]
    std::string label;
};

Distances distances(const Scheme& scheme) {
    Distances d;
    if (scheme.type == SchemeType::t5) {
        const EntryIndex index(scheme);
        d.entries = index.diagonals(); // entry at key - query = i - (rows - 1) - offset
        d.first = -(index.rows() - 1) - scheme.offset;
        d.label = "key \u2212 query";
    } else {
        for (int32_t e = 0; e < static_cast<int32_t>(scheme.num_entries()); ++e) {
            d.entries.push_back(e); // entry e is read at query - key = e - (W - 1)
        }
        d.first = -(scheme.window_w - 1);
        d.label = "query \u2212 key";
    }
    return d;
}

HeatmapSpec bias_strip(const Scheme& scheme, const FloatTensor& table,
                       const std::vector<int64_t>& heads, std::string title, const DrawSize& size,
                       CellMeaning* cells) {
    const int64_t all_heads = table.dim(1);
    HeatmapSpec spec;
    Distances d = distances(scheme);
    const std::vector<int32_t>& entries = d.entries;
    spec.x_first = d.first;
    spec.x_label = std::move(d.label);
    const auto rows = static_cast<int64_t>(heads.size());
    const auto cols = static_cast<int64_t>(entries.size());
    spec.title = std::move(title);
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    spec.y_label = "head";
    spec.y_first = heads.front();
    spec.cell_px = strip_cell_px(rows, cols);
    apply_size(spec, size);
    spec.panels.push_back({rows == 1 ? head_title(heads.front()) : "all heads", {}});
    HeatmapReducer reducer(std::move(spec), rows, cols);
    std::vector<float> row(static_cast<size_t>(cols));
    for (const int64_t h : heads) {
        for (int64_t c = 0; c < cols; ++c) {
            row[static_cast<size_t>(c)] = table[entries[static_cast<size_t>(c)] * all_heads + h];
        }
        reducer.add_values(0, row.data(), cols);
    }
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->entry_label = scheme.type == SchemeType::t5 ? "bucket" : "table entry";
        cells->row_name = "head";
        cells->entry = [columns = std::make_shared<const std::vector<int32_t>>(entries)](
                           int64_t, int64_t c) { return (*columns)[static_cast<size_t>(c)]; };
    }
    return reducer.finish();
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
    if (name == "strip") {
        return BiasView::strip;
    }
    throw UsageError(
        fmt::format("--view {}: unknown view: expected matrix, table, distance or strip", name));
}

std::string_view bias_view_name(BiasView view) {
    switch (view) {
    case BiasView::matrix:
        return "matrix";
    case BiasView::table:
        return "table";
    case BiasView::distance:
        return "distance";
    case BiasView::strip:
        return "strip";
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

HeatmapSpec bucket_heatmap(const Scheme& scheme, const DrawSize& size, CellMeaning* cells) {
    scheme.validate();
    const int64_t rows = scheme.num_queries();
    const int64_t cols = scheme.num_keys();
    const EntryIndex index(scheme);
    HeatmapSpec spec;
    spec.title = fmt::format("bucket map | {}", scheme.describe());
    spec.scale = ValueScale::ids;
    spec.value_label = scheme.type == SchemeType::t5 ? "bucket" : "table entry";
    apply_size(spec, size);
    spec.panels.push_back({scheme.type == SchemeType::t5 ? "buckets" : "entries", {}});
    // Rows of the map, reduced as they are read (a t5 index holds only its diagonals).
    HeatmapReducer reducer(std::move(spec), rows, cols,
                           {0, static_cast<double>(index.num_entries() - 1)});
    const int64_t chunk = std::clamp<int64_t>(reduce_chunk_values / cols, 1, rows);
    std::vector<float> values(static_cast<size_t>(chunk * cols));
    for (int64_t i = 0; i < rows; i += chunk) {
        const int64_t n = std::min(chunk, rows - i);
        for (int64_t r = 0; r < n; ++r) {
            const int32_t* row = index.row(i + r);
            std::transform(row, row + cols, values.data() + r * cols,
                           [](int32_t e) { return static_cast<float>(e); });
        }
        reducer.add_values(0, values.data(), n * cols);
    }
    if (cells != nullptr) {
        *cells = CellMeaning{};
        cells->pairs = scheme;
    }
    return reducer.finish();
}

HeatmapSpec bias_heatmap(const Scheme& scheme, const FloatTensor& table, BiasView view,
                         std::optional<int64_t> head, std::string_view table_source,
                         const DrawSize& size, CellMeaning* cells) {
    scheme.validate();
    check_table(scheme, table);
    const std::vector<int64_t> heads = selected_heads(head, table.dim(1));
    const std::string type(scheme_type_name(scheme.type));
    switch (view) {
    case BiasView::matrix:
        if (cells != nullptr) {
            *cells = pair_meaning(scheme);
        }
        return bias_matrix(scheme, table, heads,
                           fmt::format("bias | {} | {}", scheme.describe(), table_source), size);
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
                          size, cells);
    case BiasView::strip:
        if (scheme.type == SchemeType::window2d) {
            throw UsageError("--view strip applies to --type t5 or 1d, not --type 2d: "
                             "expected table or matrix");
        }
        return bias_strip(
            scheme, table, heads,
            fmt::format("bias by distance | {} | {}", scheme.describe(), table_source), size,
            cells);
    case BiasView::distance:
        break;
    }
    throw Error("the distance view is a line plot: draw it with bias_distance_plot");
}

LineFigure bias_distance_plot(const Scheme& scheme, const FloatTensor& table,
                              std::optional<int64_t> head, std::string_view table_source) {
    scheme.validate();
    if (scheme.type == SchemeType::window2d) {
        throw UsageError("--view distance applies to --type t5 or 1d, not --type 2d: "
                         "expected table or matrix");
    }
    check_table(scheme, table);
    const int64_t all_heads = table.dim(1);
    const Distances d = distances(scheme);
    LinePlot plot;
    plot.x_label = d.label;
    plot.y_label = "bias";
    for (const int64_t h : selected_heads(head, all_heads)) {
        LineSeries series{head_title(h), {}};
        for (size_t c = 0; c < d.entries.size(); ++c) {
            series.points.emplace_back(static_cast<double>(d.first + static_cast<int64_t>(c)),
                                       table[d.entries[c] * all_heads + h]);
        }
        plot.series.push_back(std::move(series));
    }
    LineFigure figure;
    figure.title = fmt::format("bias by distance | {} | {}", scheme.describe(), table_source);
    figure.panels.push_back(std::move(plot));
    return figure;
}

HeatmapSpec attention_heatmap(const FloatTensor& probs, std::optional<int64_t> head,
                              std::string_view description, CellMeaning* cells,
                              const Scheme* scheme, const DrawSize& size) {
    if (probs.rank() != 4 || probs.size() == 0) {
        throw Error(fmt::format("attention probabilities of shape {}: expected a non-empty "
                                "(batch, heads, queries, keys) tensor",
                                shape_string(probs.shape())));
    }
    const int64_t queries = probs.dim(2);
    const int64_t keys = probs.dim(3);
    const ProbabilitySource rows_of_batch0 = [&](const std::vector<int64_t>& heads,
                                                 const ProbabilityRows& sink) {
        for (const int64_t h : heads) {
            sink(h, 0, queries, probs.data() + h * queries * keys);
        }
    };
    return attention_heatmap(rows_of_batch0, probs.dim(1), queries, keys, head, description, size,
                             cells, scheme);
}

HeatmapSpec attention_heatmap(const ProbabilitySource& source, int64_t heads, int64_t queries,
                              int64_t keys, std::optional<int64_t> head,
                              std::string_view description, const DrawSize& size,
                              CellMeaning* cells, const Scheme* scheme) {
    const std::vector<int64_t> drawn = selected_heads(head, heads);
    HeatmapSpec spec;
    spec.title = std::string(description);
    spec.scale = ValueScale::linear;
    spec.value_label = "probability";
    apply_size(spec, size);
    for (const int64_t h : drawn) {
        spec.panels.push_back({head_title(h), {}});
    }
    HeatmapReducer reducer(std::move(spec), queries, keys, {0, 1});
    // The rows of each drawn head, in order: the reducer checks the count, this the order.
    size_t panel = 0;
    int64_t next_row = 0;
    source(drawn, [&](int64_t h, int64_t first_row, int64_t rows, const float* values) {
        if (next_row == queries) {
            ++panel;
            next_row = 0;
        }
        if (panel >= drawn.size() || h != drawn[panel] || first_row != next_row || rows < 0 ||
            rows > queries - next_row) {
            throw Error(fmt::format("attention probabilities: rows [{}, {}) of head {} arrived "
                                    "out of order",
                                    first_row, first_row + rows, h));
        }
        reducer.add_values(panel, values, rows * keys);
        next_row += rows;
    });
    if (cells != nullptr) {
        const bool fits =
            scheme != nullptr && scheme->num_queries() == queries && scheme->num_keys() == keys;
        *cells = fits ? pair_meaning(*scheme) : CellMeaning{};
    }
    return reducer.finish();
}

} // namespace rpb
