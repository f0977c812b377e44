#include "rpb/html_figure.hpp"

#include "block_value.hpp"
#include "markup_escape.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

// The page's style and script: src/core/html_figure.css and html_figure.js, compiled in as
// bytes by cmake/embed_file.cmake (CMakeLists.txt), so that they stay plain CSS and JavaScript
// files to read and lint, apart from the C++ that fills in the data.
extern const unsigned char rpb_html_figure_css[];
extern const std::size_t rpb_html_figure_css_size;
extern const unsigned char rpb_html_figure_js[];
extern const std::size_t rpb_html_figure_js_size;

namespace rpb {

namespace {

std::string_view embedded_text(const unsigned char* bytes, std::size_t size) {
    return {reinterpret_cast<const char*>(bytes), size};
}

static_assert(std::endian::native == std::endian::little,
              "the page embeds little-endian float32 and int32 as they lie in memory");

void validate(const HeatmapSpec& spec, const HtmlBounds& bounds) {
    if (bounds.max_cells <= 0 || bounds.max_side <= 0) {
        throw UsageError(fmt::format("page bounds {} (cells) and {} (side) are not accepted; "
                                     "both must be positive",
                                     bounds.max_cells, bounds.max_side));
    }
    check_panels(spec);
}

int64_t ceil_div(int64_t a, int64_t b) {
    return (a + b - 1) / b;
}

// The smallest k whose reduced panels of (rows, cols) cells fit the bounds.
int64_t choose_reduction(int64_t panels, int64_t rows, int64_t cols, const HtmlBounds& b) {
    const int64_t longest = std::max(rows, cols);
    for (int64_t k = 1;; ++k) {
        const int64_t r = ceil_div(rows, k);
        const int64_t c = ceil_div(cols, k);
        if ((r <= b.max_side && c <= b.max_side && panels * r * c <= b.max_cells) || k >= longest) {
            return k;
        }
    }
}

// The map a panel's cells stand for: (rows, cols) values, each cell covering k0 x k0 of them
// (k0 > 1 when the panels came pre-reduced, HeatmapSpec::reduced; the last block of a row or
// column may be partial).
struct SourceMap {
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t k0 = 1;
    // How many values cell (i, j) of a panel covers.
    double weight(int64_t i, int64_t j) const {
        return static_cast<double>(std::min(k0, rows - i * k0) * std::min(k0, cols - j * k0));
    }
};

// The panel grid as the PNG lays it out: near-square, preferring a column count that fills
// the last row; explicit slots may leave gaps.
int64_t grid_columns(const HeatmapSpec& spec, int64_t slots) {
    if (spec.columns > 0) {
        return std::min(spec.columns, slots);
    }
    if (slots <= 4) {
        return slots;
    }
    const auto c = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(slots))));
    return slots % (c + 1) == 0 && slots % c != 0 ? c + 1 : c;
}

std::string_view scale_name(ValueScale scale) {
    switch (scale) {
    case ValueScale::ids:
        return "ids";
    case ValueScale::symmetric:
        return "symmetric";
    case ValueScale::linear:
        return "linear";
    }
    return "linear";
}

nlohmann::json pairs_json(const Scheme& s) {
    switch (s.type) {
    case SchemeType::t5:
        return {{"type", "t5"}, {"offset", s.offset}};
    case SchemeType::window1d:
        return {{"type", "1d"}};
    case SchemeType::window2d:
        return {{"type", "2d"},
                {"window_h", s.window_h},
                {"window_w", s.window_w},
                {"cls_token", s.cls_token}};
    }
    return nullptr;
}

// What the tooltip calls a row or column: the given name, else the axis label up to " = "
// ("dy = query row - key row" -> "dy"), else the whole label.
std::string short_name(const std::string& given, const std::string& label) {
    if (!given.empty()) {
        return given;
    }
    const size_t at = label.find(" = ");
    return at == std::string::npos || at == 0 ? label : label.substr(0, at);
}

// JSON that may stand inside <script>: no '<' at all, so neither "</script" nor "<!--".
std::string script_safe(const nlohmann::json& data) {
    const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        if (c == '<') {
            out += "\\u003c";
        } else {
            out += c;
        }
    }
    return out;
}

} // namespace

std::string base64_encode(const void* data, size_t size) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* bytes = static_cast<const unsigned char*>(data);
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (size_t i = 0; i < size; i += 3) {
        const uint32_t b0 = bytes[i];
        const uint32_t b1 = i + 1 < size ? bytes[i + 1] : 0;
        const uint32_t b2 = i + 2 < size ? bytes[i + 2] : 0;
        const uint32_t triple = (b0 << 16) | (b1 << 8) | b2;
        out += digits[(triple >> 18) & 63];
        out += digits[(triple >> 12) & 63];
        out += i + 1 < size ? digits[(triple >> 6) & 63] : '=';
        out += i + 2 < size ? digits[triple & 63] : '=';
    }
    return out;
}

std::string html_page(const HeatmapSpec& spec, const CellMeaning& cells, const HtmlBounds& bounds,
                      HtmlInfo* info) {
    validate(spec, bounds);
    const bool ids = spec.scale == ValueScale::ids;
    const int64_t cell_rows = spec.panels.front().values.dim(0);
    const int64_t cell_cols = spec.panels.front().values.dim(1);
    SourceMap map{cell_rows, cell_cols, 1};
    if (spec.reduced) {
        map = {spec.reduced->rows, spec.reduced->cols, spec.reduced->k};
        if (map.k0 < 2 || ceil_div(map.rows, map.k0) != cell_rows ||
            ceil_div(map.cols, map.k0) != cell_cols) {
            throw Error(fmt::format("pre-reduced panels of {} x {} cells do not hold a ({}, {}) "
                                    "map reduced 1:{}",
                                    cell_rows, cell_cols, map.rows, map.cols, map.k0));
        }
    }
    const int64_t rows = map.rows;
    const int64_t cols = map.cols;
    const auto panels = static_cast<int64_t>(spec.panels.size());
    const int64_t m = choose_reduction(panels, cell_rows, cell_cols, bounds);
    const int64_t k = map.k0 * m;
    const int64_t drawn_rows = ceil_div(cell_rows, m);
    const int64_t drawn_cols = ceil_div(cell_cols, m);

    // The colour range over every value, not only the embedded ones, as the PNG's (for
    // pre-reduced panels, the range their values had).
    double lo = INFINITY;
    double hi = -INFINITY;
    if (spec.reduced) {
        lo = spec.reduced->min;
        hi = spec.reduced->max;
    }
    std::vector<float> drawn;
    drawn.reserve(static_cast<size_t>(panels * drawn_rows * drawn_cols));
    for (const Panel& panel : spec.panels) {
        if (!spec.reduced) {
            for (const float x : panel.values.values()) {
                lo = std::min(lo, static_cast<double>(x));
                hi = std::max(hi, static_cast<double>(x));
            }
        }
        for (int64_t bi = 0; bi < drawn_rows; ++bi) {
            for (int64_t bj = 0; bj < drawn_cols; ++bj) {
                drawn.push_back(static_cast<float>(
                    detail::block_value(panel.values, bi, bj, m, ids, [&map](int64_t i, int64_t j) {
                        return map.weight(i, j);
                    })));
            }
        }
    }
    if (spec.scale == ValueScale::symmetric) {
        hi = std::max(std::fabs(lo), std::fabs(hi));
        lo = -hi;
    }

    const Colormap& cmap = spec.colormap != nullptr              ? *spec.colormap
                           : spec.scale == ValueScale::symmetric ? find_colormap("rdbu")
                                                                 : find_colormap("viridis");
    std::string colors;
    for (int e = 0; e < 256; ++e) {
        const Rgb c = cmap.entry(e);
        colors += fmt::format("{:02x}{:02x}{:02x}", c.r, c.g, c.b);
    }

    nlohmann::json panel_list = nlohmann::json::array();
    int64_t next = 0;
    int64_t slots = 0;
    for (const Panel& panel : spec.panels) {
        const int64_t slot = panel.slot >= 0 ? panel.slot : next;
        next = slot + 1;
        slots = std::max(slots, next);
        panel_list.push_back({{"title", panel.title}, {"slot", slot}});
    }

    nlohmann::json data = {
        {"title", spec.title},
        {"rows", rows},
        {"cols", cols},
        {"k", k},
        {"drawn_rows", drawn_rows},
        {"drawn_cols", drawn_cols},
        {"x_label", spec.x_label},
        {"y_label", spec.y_label},
        {"x_first", spec.x_first},
        {"y_first", spec.y_first},
        {"row_name", short_name(cells.row_name, spec.y_label)},
        {"col_name", short_name(cells.col_name, spec.x_label)},
        {"value_label", spec.value_label},
        {"scale", scale_name(spec.scale)},
        {"value_min", lo},
        {"value_max", hi},
        {"colormap", cmap.name()},
        {"colors", colors},
        {"grid_columns", grid_columns(spec, slots)},
        {"row_labels", spec.row_labels},
        {"panels", panel_list},
        {"pairs", cells.pairs ? pairs_json(*cells.pairs) : nlohmann::json(nullptr)},
        {"entry_label", cells.entry_label},
        {"values", base64_encode(drawn.data(), drawn.size() * sizeof(float))},
        {"entries", nullptr},
    };
    const bool has_entries = k == 1 && static_cast<bool>(cells.entry);
    if (has_entries) {
        std::vector<int32_t> entries(static_cast<size_t>(rows * cols));
        for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < cols; ++j) {
                entries[static_cast<size_t>(i * cols + j)] = cells.entry(i, j);
            }
        }
        data["entries"] = base64_encode(entries.data(), entries.size() * sizeof(int32_t));
    }
    if (info != nullptr) {
        *info = HtmlInfo{k, drawn_rows, drawn_cols, lo, hi, has_entries};
    }

    std::string page;
    page += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
    page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    page += fmt::format("<title>{}</title>\n",
                        detail::escape_markup(spec.title.empty() ? "rpbtool figure" : spec.title));
    page += fmt::format("<style>\n{}</style>\n</head>\n<body>\n",
                        embedded_text(rpb_html_figure_css, rpb_html_figure_css_size));
    page += "<noscript>This page draws its figure with JavaScript.</noscript>\n";
    page += "<script type=\"application/json\" id=\"rpb-data\">";
    page += script_safe(data);
    page += "</script>\n<script>\n";
    page += embedded_text(rpb_html_figure_js, rpb_html_figure_js_size);
    page += "</script>\n</body>\n</html>\n";
    return page;
}

} // namespace rpb
