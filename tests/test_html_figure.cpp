// The interactive page: its embedded data decodes to the panels' values (and the entries to
// the index map), big maps are reduced within the bounds, the HTML is one self-contained,
// well-formed file. What the page's script shows is tested in a browser (cli/test_html.sh).
#include "rpb/error.hpp"
#include "rpb/heatmap_reducer.hpp"
#include "rpb/html_figure.hpp"
#include "rpb/index.hpp"
#include "rpb/visualize.hpp"
#include "test_schemes.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <doctest/doctest.h>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using rpb::CellMeaning;
using rpb::FloatTensor;
using rpb::HeatmapSpec;
using rpb::Scheme;
using rpb::SchemeType;
using rpb::ValueScale;

namespace {

// An independent RFC 4648 decoder (the page's script uses atob).
std::vector<unsigned char> base64_decode(const std::string& text) {
    REQUIRE(text.size() % 4 == 0);
    const std::string digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::vector<unsigned char> out;
    for (size_t i = 0; i < text.size(); i += 4) {
        uint32_t v = 0;
        int pad = 0;
        for (size_t j = 0; j < 4; ++j) {
            const char c = text[i + j];
            v <<= 6;
            if (c == '=') {
                ++pad;
            } else {
                const size_t d = digits.find(c);
                REQUIRE(d != std::string::npos);
                v |= static_cast<uint32_t>(d);
            }
        }
        out.push_back(static_cast<unsigned char>(v >> 16));
        if (pad < 2) {
            out.push_back(static_cast<unsigned char>(v >> 8));
        }
        if (pad < 1) {
            out.push_back(static_cast<unsigned char>(v));
        }
    }
    return out;
}

template <typename T>
std::vector<T> decode_as(const std::string& text) {
    const std::vector<unsigned char> bytes = base64_decode(text);
    REQUIRE(bytes.size() % sizeof(T) == 0);
    std::vector<T> out(bytes.size() / sizeof(T));
    std::memcpy(out.data(), bytes.data(), bytes.size());
    return out;
}

// The JSON of <script id="rpb-data">.
nlohmann::json page_data(const std::string& page) {
    const std::string open = "<script type=\"application/json\" id=\"rpb-data\">";
    const size_t begin = page.find(open);
    REQUIRE(begin != std::string::npos);
    const size_t end = page.find("</script>", begin);
    REQUIRE(end != std::string::npos);
    return nlohmann::json::parse(page.substr(begin + open.size(), end - begin - open.size()));
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

// Three 5 x 7 panels of distinct signed values.
HeatmapSpec three_panels() {
    HeatmapSpec spec;
    spec.title = "three panels";
    spec.scale = ValueScale::symmetric;
    spec.value_label = "bias";
    for (int p = 0; p < 3; ++p) {
        FloatTensor v({5, 7});
        for (int64_t i = 0; i < v.size(); ++i) {
            v[i] = static_cast<float>((static_cast<double>(i) - 17.0) * (p + 1) / 37.0);
        }
        spec.panels.push_back({"head " + std::to_string(p), std::move(v)});
    }
    return spec;
}

FloatTensor ramp_table(int64_t entries, int64_t heads) {
    FloatTensor t({entries, heads});
    for (int64_t i = 0; i < t.size(); ++i) {
        t[i] = static_cast<float>(static_cast<double>(i % 97) / 97.0 - 0.4);
    }
    return t;
}

} // namespace

TEST_CASE("rpb::base64_encode gives RFC 4648's test vectors") {
    CHECK(rpb::base64_encode("", 0).empty());
    CHECK(rpb::base64_encode("f", 1) == "Zg==");
    CHECK(rpb::base64_encode("fo", 2) == "Zm8=");
    CHECK(rpb::base64_encode("foo", 3) == "Zm9v");
    CHECK(rpb::base64_encode("foobar", 6) == "Zm9vYmFy");
    const unsigned char high[] = {0xff, 0xfe, 0x00};
    CHECK(rpb::base64_encode(high, 3) == "//4A");
}

TEST_CASE("rpb::html_page embeds every value as float32, panel after panel") {
    const HeatmapSpec spec = three_panels();
    rpb::HtmlInfo info;
    const std::string page = rpb::html_page(spec, CellMeaning{}, {}, &info);
    const nlohmann::json d = page_data(page);
    CHECK(d["rows"] == 5);
    CHECK(d["cols"] == 7);
    CHECK(d["k"] == 1);
    CHECK(info.reduction == 1);
    CHECK(d["scale"] == "symmetric");
    CHECK(d["colormap"] == "rdbu");
    CHECK(d["colors"].get<std::string>().size() == 256 * 6);
    CHECK(d["grid_columns"] == 3);
    REQUIRE(d["panels"].size() == 3);
    CHECK(d["panels"][2]["title"] == "head 2");
    CHECK(d["panels"][2]["slot"] == 2);
    CHECK(d["entries"].is_null());
    CHECK(d["pairs"].is_null());
    const auto values = decode_as<float>(d["values"]);
    REQUIRE(values.size() == 3 * 35);
    for (size_t p = 0; p < 3; ++p) {
        for (int64_t i = 0; i < 35; ++i) {
            CHECK(values[p * 35 + static_cast<size_t>(i)] == spec.panels[p].values[i]);
        }
    }
    // The symmetric range of the PNG: +-max |v| over all panels (panel 2's last value).
    const double h = std::fabs(static_cast<double>(spec.panels[2].values[34]));
    CHECK(d["value_max"].get<double>() == h);
    CHECK(d["value_min"].get<double>() == -h);
    CHECK(d["row_name"] == "query");
    CHECK(d["col_name"] == "key");

    // Without names from CellMeaning, the tooltip names an axis by its label up to " = ".
    HeatmapSpec table = three_panels();
    table.y_label = "dy = query row - key row";
    CellMeaning named;
    named.col_name = "offset";
    const nlohmann::json t = page_data(rpb::html_page(table, named));
    CHECK(t["row_name"] == "dy");
    CHECK(t["col_name"] == "offset");
    CHECK(t["y_label"] == "dy = query row - key row");
}

TEST_CASE("rpb::html_page is one self-contained, well-formed file") {
    HeatmapSpec spec = three_panels();
    spec.title = "a.npy</script><script>alert(1)</script> & \"more\"";
    const std::string page = rpb::html_page(spec, CellMeaning{});
    CHECK(page.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0) == 0);
    CHECK(page.ends_with("</body>\n</html>\n"));
    CHECK(count(page, "<html") == 1);
    CHECK(count(page, "<head>") == 1);
    CHECK(count(page, "</head>") == 1);
    CHECK(count(page, "<body>") == 1);
    CHECK(count(page, "</body>") == 1);
    CHECK(count(page, "<script") == 2);
    CHECK(count(page, "</script>") == 2);
    CHECK(count(page, "<style>") == 1);
    CHECK(count(page, "</style>") == 1);
    // Nothing is loaded from anywhere: no URL, no attribute that fetches, no CSS import (outside
    // the data, whose base64 may hold any four letters; its title is checked below).
    const std::string open = "<script type=\"application/json\" id=\"rpb-data\">";
    const size_t data_begin = page.find(open);
    const size_t data_end = page.find("</script>", data_begin);
    const std::string code = page.substr(0, data_begin) + page.substr(data_end);
    for (const char* external : {"http", "src=", "href=", "url(", "@import", "<link", "<img",
                                 "<iframe", "<object", "//cdn", "fetch(", "XMLHttpRequest"}) {
        CHECK_MESSAGE(count(code, external) == 0, external);
    }
    // The title is text: escaped in <title>, and its '<' never ends the data script.
    CHECK(count(page, "<title>a.npy&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; "
                      "&quot;more&quot;</title>") == 1);
    CHECK(page_data(page)["title"] == spec.title);
}

TEST_CASE("rpb::html_page reduces big maps within its bounds, as the PNG does") {
    HeatmapSpec spec;
    spec.scale = ValueScale::linear;
    FloatTensor v({9, 2500});
    for (int64_t i = 0; i < v.size(); ++i) {
        v[i] = static_cast<float>(i % 2500) + static_cast<float>(i / 2500) * 0.25f;
    }
    spec.panels.push_back({"wide", v});
    CellMeaning cells;
    cells.entry = [](int64_t, int64_t c) { return static_cast<int32_t>(c); };
    rpb::HtmlInfo info;
    const nlohmann::json d = page_data(rpb::html_page(spec, cells, {}, &info));
    // 2500 columns > 1024: k = 3 gives 834 columns and 3 rows.
    CHECK(info.reduction == 3);
    CHECK(d["k"] == 3);
    CHECK(d["drawn_rows"] == 3);
    CHECK(d["drawn_cols"] == 834);
    CHECK_FALSE(info.has_entries);
    CHECK(d["entries"].is_null()); // a block reads many entries
    const auto values = decode_as<float>(d["values"]);
    REQUIRE(values.size() == 3 * 834);
    // Block (0, 0): columns 0..2 of rows 0..2: mean of c + 0.25 r = 1 + 0.25.
    CHECK(values[0] == doctest::Approx(1.25));
    // The last block holds one column (2499) of rows 6..8: 2499 + 0.25 * 7.
    CHECK(values[3 * 834 - 1] == doctest::Approx(2499 + 1.75));

    // Ids are sampled at the top-left of each block, never averaged.
    spec.scale = ValueScale::ids;
    const auto ids = decode_as<float>(page_data(rpb::html_page(spec, cells))["values"]);
    CHECK(ids[1] == 3.0f);
    CHECK(ids[834 + 1] == 3.0f + 0.75f);

    // The cell bound: 12 panels of 300 x 300 (1.08 M cells) embed at most 2^19 cells.
    HeatmapSpec many;
    for (int p = 0; p < 12; ++p) {
        many.panels.push_back({"p", FloatTensor({300, 300})});
    }
    rpb::html_page(many, CellMeaning{}, {}, &info);
    CHECK(info.reduction == 2);
    CHECK(12 * info.drawn_rows * info.drawn_cols <= rpb::HtmlBounds{}.max_cells);
}

TEST_CASE("rpb::html_page refuses what the PNG refuses") {
    CHECK_THROWS_AS(rpb::html_page(HeatmapSpec{}, CellMeaning{}), rpb::Error);
    HeatmapSpec spec = three_panels();
    spec.panels[1].values[3] = std::numeric_limits<float>::quiet_NaN();
    CHECK_THROWS_WITH_AS(rpb::html_page(spec, CellMeaning{}),
                         "panel 'head 1' holds nan at (0, 3); only finite values can be drawn",
                         rpb::Error);
    spec = three_panels();
    spec.panels[2].values = FloatTensor({7, 5});
    CHECK_THROWS_AS(rpb::html_page(spec, CellMeaning{}), rpb::Error);
    CHECK_THROWS_AS(rpb::html_page(three_panels(), CellMeaning{}, {0, 10}), rpb::UsageError);
}

TEST_CASE("rpb::bias_heatmap's cell meaning: entries of the index map, pairs, names") {
    const Scheme scheme = window2d_scheme(3, 4, true);
    const FloatTensor table = ramp_table(scheme.num_entries(), 2);
    CellMeaning cells;
    const HeatmapSpec matrix =
        rpb::bias_heatmap(scheme, table, rpb::BiasView::matrix, std::nullopt, "t", {}, &cells);
    REQUIRE(cells.pairs.has_value());
    CHECK(cells.pairs->cls_token);
    CHECK(cells.entry_label == "table entry");
    rpb::HtmlInfo info;
    const nlohmann::json d = page_data(rpb::html_page(matrix, cells, {}, &info));
    CHECK(info.has_entries);
    CHECK(d["pairs"]["type"] == "2d");
    CHECK(d["pairs"]["window_w"] == 4);
    CHECK(d["pairs"]["cls_token"] == true);
    const auto entries = decode_as<int32_t>(d["entries"]);
    REQUIRE(entries.size() == 13 * 13);
    for (int64_t i = 0; i < 13; ++i) {
        for (int64_t j = 0; j < 13; ++j) {
            CHECK(entries[static_cast<size_t>(i * 13 + j)] == rpb::entry_of(scheme, i, j));
        }
    }

    // Table view: cell (r, c) is entry r * (2Ww - 1) + c at (dy, dx).
    rpb::bias_heatmap(scheme, table, rpb::BiasView::table, std::nullopt, "t", {}, &cells);
    CHECK_FALSE(cells.pairs.has_value());
    CHECK(cells.row_name == "dy");
    CHECK(cells.col_name == "dx");
    CHECK(cells.entry(2, 3) == 2 * 7 + 3);

    // Strip view (t5, the distance view's values as cells): the bucket of each distance,
    // whatever the head.
    Scheme t5;
    t5.qlen = t5.klen = 10;
    rpb::bias_heatmap(t5, ramp_table(32, 3), rpb::BiasView::strip, std::nullopt, "t", {}, &cells);
    CHECK(cells.row_name == "head");
    CHECK(cells.entry_label == "bucket");
    for (int64_t c = 0; c < 19; ++c) {
        CHECK(cells.entry(1, c) == rpb::t5_bucket(c - 9, t5.t5));
    }

    // Bucket maps say the pairs; their value is the entry.
    rpb::bucket_heatmap(t5, {}, &cells);
    CHECK(cells.pairs.has_value());
    CHECK_FALSE(static_cast<bool>(cells.entry));
}

TEST_CASE("rpb::html_page of a 12-head 128 x 128 bias stays small") {
    Scheme t5;
    CellMeaning cells;
    const HeatmapSpec spec = rpb::bias_heatmap(t5, ramp_table(32, 12), rpb::BiasView::matrix,
                                               std::nullopt, "t", {}, &cells);
    rpb::HtmlInfo info;
    const std::string page = rpb::html_page(spec, cells, {}, &info);
    CHECK(info.reduction == 1);
    CHECK(info.has_entries);
    // 12 * 128 * 128 float32 and one panel of int32 entries in base64: about 1.1 MB.
    CHECK(page.size() < 1'300'000);
    CHECK(page.size() > 12 * 128 * 128 * 4 * 4 / 3);
}

TEST_CASE("rpb::html_page of pre-reduced panels reduces them further to exact block means") {
    // A 50 x 38 map reduced 1:3 while it streamed (cell_px 1 and a 20-pixel panel bound),
    // then embedded at 1:6: each embedded value is the mean of its 6 x 6 block of values,
    // partial blocks included, as if the page had reduced the whole map itself.
    const int64_t rows = 50;
    const int64_t cols = 38;
    const auto value = [](int64_t i, int64_t j) {
        return static_cast<float>(std::sin(0.37 * static_cast<double>(i)) +
                                  0.01 * static_cast<double>(j * j));
    };
    HeatmapSpec spec;
    spec.panels.push_back({"head 0", {}});
    spec.cell_px = 0;
    spec.max_panel_px = 20;
    rpb::HeatmapReducer reducer(spec, rows, cols);
    REQUIRE(reducer.reduction() == 3);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < cols; ++j) {
            row[static_cast<size_t>(j)] = value(i, j);
        }
        reducer.add_values(0, row.data(), cols);
    }
    const HeatmapSpec reduced = reducer.finish();
    REQUIRE(reduced.reduced.has_value());
    rpb::HtmlInfo info;
    const nlohmann::json d = page_data(rpb::html_page(reduced, CellMeaning{}, {100, 10}, &info));
    CHECK(info.reduction == 6);
    CHECK(d["rows"] == rows);
    CHECK(d["cols"] == cols);
    CHECK(info.drawn_rows == 9);
    CHECK(info.drawn_cols == 7);
    const auto values = decode_as<float>(d["values"]);
    REQUIRE(values.size() == 9 * 7);
    double lo = INFINITY;
    double hi = -INFINITY;
    for (int64_t bi = 0; bi < 9; ++bi) {
        for (int64_t bj = 0; bj < 7; ++bj) {
            double sum = 0;
            int64_t n = 0;
            for (int64_t i = bi * 6; i < std::min(rows, bi * 6 + 6); ++i) {
                for (int64_t j = bj * 6; j < std::min(cols, bj * 6 + 6); ++j) {
                    sum += value(i, j);
                    lo = std::min(lo, static_cast<double>(value(i, j)));
                    hi = std::max(hi, static_cast<double>(value(i, j)));
                    ++n;
                }
            }
            CHECK(values[static_cast<size_t>(bi * 7 + bj)] ==
                  doctest::Approx(sum / static_cast<double>(n)).epsilon(1e-6));
        }
    }
    // The colour range is the raw values', as the PNG's.
    CHECK(info.value_min == doctest::Approx(lo));
    CHECK(info.value_max == doctest::Approx(hi));
}
