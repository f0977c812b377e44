#include "colormap_csv.hpp"
#include "decoded_png.hpp"
#include "rpb/error.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/heatmap_reducer.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <limits>
#include <string>
#include <vector>

using rpb::FloatTensor;
using rpb::HeatmapReducer;
using rpb::HeatmapSpec;
using rpb::RenderInfo;
using rpb::ValueScale;

namespace {

// Distinct signed values, no two blocks alike.
float value(int64_t p, int64_t i, int64_t j) {
    return static_cast<float>(std::sin(0.37 * static_cast<double>(i) +
                                       0.11 * static_cast<double>(j * j) + static_cast<double>(p)) *
                              (1.0 + 0.01 * static_cast<double>(i)));
}

FloatTensor full_panel(int64_t p, int64_t rows, int64_t cols) {
    FloatTensor t({rows, cols});
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            t.at(i, j) = value(p, i, j);
        }
    }
    return t;
}

// A picture with `panels` titled panels and no values, bounds small enough to force reduction.
HeatmapSpec empty_spec(size_t panels, ValueScale scale, int max_panel_px) {
    HeatmapSpec spec;
    spec.title = "reduction test";
    spec.scale = scale;
    spec.max_panel_px = max_panel_px;
    for (size_t p = 0; p < panels; ++p) {
        spec.panels.push_back({"head " + std::to_string(p), {}});
    }
    return spec;
}

// The reference: the mean of block (bi, bj) of the whole panel, the last blocks partial.
float block_mean(const FloatTensor& t, int64_t k, int64_t bi, int64_t bj) {
    const int64_t i1 = std::min((bi + 1) * k, t.dim(0));
    const int64_t j1 = std::min((bj + 1) * k, t.dim(1));
    double sum = 0;
    for (int64_t i = bi * k; i < i1; ++i) {
        for (int64_t j = bj * k; j < j1; ++j) {
            sum += t.at(i, j);
        }
    }
    return static_cast<float>(sum / static_cast<double>((i1 - bi * k) * (j1 - bj * k)));
}

} // namespace

TEST_CASE("rpb::HeatmapReducer block means equal a reduction of the whole tensor") {
    // 37 x 23: neither square nor a multiple of k; fed in pieces that split rows.
    const int64_t rows = 37;
    const int64_t cols = 23;
    HeatmapReducer reducer(empty_spec(2, ValueScale::symmetric, 8), rows, cols);
    const int64_t k = reducer.reduction();
    REQUIRE(k == 5); // ceil(37 / 5) = 8 cells: the first k that fits 8 pixels at 1 per cell
    std::vector<FloatTensor> whole = {full_panel(0, rows, cols), full_panel(1, rows, cols)};
    // Panels interleaved, pieces of 7 values.
    for (int64_t at = 0; at < rows * cols; at += 7) {
        const int64_t n = std::min<int64_t>(7, rows * cols - at);
        for (size_t p = 0; p < 2; ++p) {
            reducer.add_values(p, whole[p].data() + at, n);
        }
    }
    const HeatmapSpec spec = reducer.finish();
    REQUIRE(spec.reduced.has_value());
    CHECK(spec.reduced->k == 5);
    CHECK(spec.reduced->rows == 37);
    CHECK(spec.reduced->cols == 23);
    double lo = 1e9;
    double hi = -1e9;
    for (size_t p = 0; p < 2; ++p) {
        const FloatTensor& cells = spec.panels[p].values;
        REQUIRE(cells.shape() == rpb::Shape{8, 5});
        for (int64_t bi = 0; bi < 8; ++bi) {
            for (int64_t bj = 0; bj < 5; ++bj) {
                CHECK(cells.at(bi, bj) == block_mean(whole[p], k, bi, bj));
            }
        }
        for (const float v : whole[p].values()) {
            lo = std::min(lo, static_cast<double>(v));
            hi = std::max(hi, static_cast<double>(v));
        }
    }
    // The last block row holds 2 rows (35, 36), the last block column 3 columns (20..22).
    CHECK(spec.panels[0].values.at(7, 4) == block_mean(whole[0], 5, 7, 4));
    CHECK(spec.reduced->min == lo);
    CHECK(spec.reduced->max == hi);

    // Drawn: the same picture as render_heatmap of the whole panels, and the bar spans the
    // raw values (max |v|), not the means.
    HeatmapSpec reference = empty_spec(2, ValueScale::symmetric, 8);
    for (size_t p = 0; p < 2; ++p) {
        reference.panels[p].values = whole[p];
    }
    RenderInfo info;
    RenderInfo ref_info;
    const std::string png = rpb::encode_png(rpb::render_heatmap(spec, &info));
    const std::string ref_png = rpb::encode_png(rpb::render_heatmap(reference, &ref_info));
    CHECK(info.reduction == 5);
    CHECK(ref_info.reduction == 5);
    CHECK(info.value_max == std::max(std::fabs(lo), std::fabs(hi)));
    CHECK(info.note == "reduced 1:5, each cell the mean of a 5\u00d75 block; colour bar: range of "
                       "all values");
    CHECK(png == ref_png);
    const auto rdbu = read_colormap_csv("RdBu_r.csv");
    const DecodedPng d = decode_png(png);
    for (size_t p = 0; p < 2; ++p) {
        for (int bi = 0; bi < 8; bi += 3) {
            for (int bj = 0; bj < 5; bj += 2) {
                const double m = block_mean(whole[p], 5, bi, bj);
                CHECK(cell_pixel(d, info, p, bi, bj) ==
                      rdbu[colormap_entry(0.5 + 0.5 * m / info.value_max)]);
            }
        }
    }
}

TEST_CASE("rpb::HeatmapReducer ids sample each block's top-left id") {
    const int64_t rows = 10;
    const int64_t cols = 31;
    HeatmapReducer reducer(empty_spec(1, ValueScale::ids, 4), rows, cols, {0, 99});
    const int64_t k = reducer.reduction();
    REQUIRE(k == 8); // ceil(31 / 8) = 4 cells wide
    FloatTensor ids({rows, cols});
    for (int64_t i = 0; i < ids.size(); ++i) {
        ids[i] = static_cast<float>(i % 97);
    }
    for (int64_t i = 0; i < rows; ++i) {
        reducer.add_values(0, ids.data() + i * cols, cols); // whole rows
    }
    const HeatmapSpec spec = reducer.finish();
    const FloatTensor& cells = spec.panels[0].values;
    REQUIRE(cells.shape() == rpb::Shape{2, 4});
    for (int64_t bi = 0; bi < 2; ++bi) {
        for (int64_t bj = 0; bj < 4; ++bj) {
            CHECK(cells.at(bi, bj) == ids.at(bi * k, bj * k)); // the partial ones too
        }
    }
    CHECK(spec.reduced->min == 0);
    CHECK(spec.reduced->max == 96);
    HeatmapSpec reference = empty_spec(1, ValueScale::ids, 4);
    reference.panels[0].values = ids;
    CHECK(rpb::encode_png(rpb::render_heatmap(spec)) ==
          rpb::encode_png(rpb::render_heatmap(reference)));
}

TEST_CASE("rpb::HeatmapReducer keeps every value when nothing is reduced") {
    HeatmapSpec spec = empty_spec(1, ValueScale::linear, 1024);
    spec.cell_px = 2; // a given cell size is never reduced
    HeatmapReducer reducer(std::move(spec), 300, 200);
    CHECK(reducer.reduction() == 1);
    const FloatTensor whole = full_panel(0, 300, 200);
    reducer.add_values(0, whole.data(), whole.size());
    const HeatmapSpec out = reducer.finish();
    CHECK(!out.reduced.has_value());
    CHECK(out.panels[0].values.values().size() == whole.values().size());
    CHECK(out.panels[0].values.at(299, 199) == whole.at(299, 199));
}

TEST_CASE("rpb::HeatmapReducer refuses bad values, extra values and missing ones") {
    HeatmapReducer reducer(empty_spec(2, ValueScale::linear, 1024), 2, 3);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> bad = {0, 1, 2, 3, nan, 5};
    CHECK_THROWS_WITH_AS(reducer.add_values(1, bad.data(), 6),
                         "panel 'head 1' holds nan at (1, 1); only finite values can be drawn",
                         rpb::Error);
    const std::vector<float> good = {0, 1, 2, 3, 4, 5, 6};
    reducer.add_values(0, good.data(), 4);
    CHECK_THROWS_WITH_AS(reducer.add_values(0, good.data(), 3),
                         "panel 'head 0' is given 3 more values, 2 are left of its 2 x 3",
                         rpb::Error);
    CHECK_THROWS_AS(reducer.add_values(2, good.data(), 1), rpb::Error);
    reducer.add_values(0, good.data(), 2);
    CHECK_THROWS_WITH_AS(reducer.finish(),
                         "panel 'head 1' has 0 of its 2 x 3 values; nothing drawn", rpb::Error);
}

TEST_CASE("rpb::heatmap_reduction decides before the values, as render_heatmap would") {
    HeatmapSpec spec = empty_spec(1, ValueScale::linear, 1024);
    CHECK(rpb::heatmap_reduction(spec, 100, 100) == 1);
    CHECK(rpb::heatmap_reduction(spec, 5000, 5000) == 5); // 1000 cells of 1 pixel
    CHECK(rpb::heatmap_reduction(spec, 100, 5000) == 5);  // the longer side decides
    spec.cell_px = 256;
    CHECK_THROWS_AS(rpb::heatmap_reduction(spec, 4096, 4096), rpb::Error); // too large for png
    spec.cell_px = -1;
    CHECK_THROWS_AS(rpb::heatmap_reduction(spec, 10, 10), rpb::UsageError);
}
