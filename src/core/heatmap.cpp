#include "rpb/heatmap.hpp"

#include "block_value.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

void check_panels(const HeatmapSpec& spec) {
    if (spec.panels.empty()) {
        throw Error("no panels to draw; give at least one 2-d tensor");
    }
    const Panel& first = spec.panels.front();
    for (const Panel& panel : spec.panels) {
        const FloatTensor& v = panel.values;
        if (v.rank() != 2) {
            throw Error(fmt::format("panel '{}' has shape {}; a panel must be 2-d (rows, cols)",
                                    panel.title, shape_string(v.shape())));
        }
        if (v.size() == 0) {
            throw Error(fmt::format("panel '{}' is empty (shape {}); nothing to draw", panel.title,
                                    shape_string(v.shape())));
        }
        if (v.shape() != first.values.shape()) {
            throw Error(fmt::format("panel '{}' has shape {} but panel '{}' has {}; all panels "
                                    "must share one shape",
                                    panel.title, shape_string(v.shape()), first.title,
                                    shape_string(first.values.shape())));
        }
        for (int64_t i = 0; i < v.size(); ++i) {
            if (!std::isfinite(v[i])) {
                throw Error(fmt::format("panel '{}' holds {} at ({}, {}); only finite values "
                                        "can be drawn",
                                        panel.title, v[i], i / v.dim(1), i % v.dim(1)));
            }
        }
    }
}

namespace {

constexpr Rgb kInk{34, 34, 34};
constexpr Rgb kFrame{90, 90, 90};
// Text sizes (em, figure units): close to matplotlib's defaults at 100 dpi, readable at
// 100% zoom in a PDF viewer.
constexpr double kTitleSize = 14;
constexpr double kLabelSize = 12;
constexpr double kTickSize = 10;
constexpr double kNoteSize = 11;
constexpr int64_t kMargin = 12;
constexpr int64_t kTickLen = 4;
constexpr int64_t kTickGap = 2;
constexpr int kMaxTicks = 8;

struct Range {
    double min = 0;
    double max = 0;
};

void validate_sizes(const HeatmapSpec& spec) {
    if (spec.cell_px < 0) {
        throw UsageError(fmt::format("cell size {} is not accepted; give a positive number of "
                                     "pixels, or 0 for automatic",
                                     spec.cell_px));
    }
    if (spec.max_panel_px <= 0 || spec.max_side_px <= 0) {
        throw UsageError(fmt::format("size bounds {} (panel) and {} (image) are not accepted; "
                                     "both must be positive",
                                     spec.max_panel_px, spec.max_side_px));
    }
}

void validate(const HeatmapSpec& spec) {
    validate_sizes(spec);
    if (spec.reduced && !spec.panels.empty()) {
        const Panel& first = spec.panels.front();
        const PreReduced& r = *spec.reduced;
        const Shape cells{(r.rows + r.k - 1) / std::max<int64_t>(r.k, 1),
                          (r.cols + r.k - 1) / std::max<int64_t>(r.k, 1)};
        if (r.k < 2 || r.rows < 1 || r.cols < 1 || first.values.shape() != cells) {
            throw Error(fmt::format("pre-reduced panel '{}' has shape {}; a ({}, {}) map reduced "
                                    "1:{} (k >= 2) has {}",
                                    first.title, shape_string(first.values.shape()), r.rows, r.cols,
                                    r.k, shape_string(cells)));
        }
    }
    check_panels(spec);
}

Range value_range(const HeatmapSpec& spec) {
    double lo = INFINITY;
    double hi = -INFINITY;
    if (spec.reduced) {
        // Pre-reduced panels hold means: the bar shows the raw values' range, as when whole.
        lo = spec.reduced->min;
        hi = spec.reduced->max;
    } else {
        for (const Panel& panel : spec.panels) {
            for (const float x : panel.values.values()) {
                lo = std::min(lo, static_cast<double>(x));
                hi = std::max(hi, static_cast<double>(x));
            }
        }
    }
    if (spec.scale == ValueScale::symmetric) {
        const double h = std::max(std::fabs(lo), std::fabs(hi));
        return {-h, h};
    }
    return {lo, hi};
}

// Where v falls on the colour map, before matplotlib's lookup rule.
double normalise(const HeatmapSpec& spec, const Range& range, double v) {
    if (spec.scale == ValueScale::symmetric) {
        return range.max == 0 ? 0.5 : 0.5 + 0.5 * v / range.max;
    }
    return range.max == range.min ? 0.0 : (v - range.min) / (range.max - range.min);
}

// A leading '-' printed as U+2212, the minus sign of typeset numbers.
std::string number_text(std::string text) {
    if (!text.empty() && text[0] == '-') {
        text.replace(0, 1, "\u2212");
    }
    return text;
}

std::string value_text(const HeatmapSpec& spec, double v, bool is_top) {
    if (spec.scale == ValueScale::ids) {
        return number_text(fmt::format("{:.0f}", v));
    }
    if (spec.scale == ValueScale::symmetric) {
        return v == 0 ? "0" : fmt::format("{}{:.3g}", is_top ? "+" : "\u2212", std::fabs(v));
    }
    return number_text(fmt::format("{:.3g}", v));
}

struct Tick {
    int64_t offset; // units from the panel's first cell edge to the tick
    std::string label;
};

double d_of(int64_t v) {
    return static_cast<double>(v);
}

int64_t ceil_units(double v) {
    return static_cast<int64_t>(std::ceil(v - 1e-9));
}

// Height of a line's box (ascent + descent) at `size`.
int64_t line_box(double size) {
    return ceil_units(font_ascent(size) + font_descent(size));
}

int64_t widest(const std::vector<std::string>& texts, double size) {
    double w = 0;
    for (const std::string& t : texts) {
        w = std::max(w, text_box(t, size).width());
    }
    return ceil_units(w);
}

// Ticks at multiples of 1, 2, 5, 10, ... of the labels: the first step that leaves room
// between labels (so that they never touch) and gives at most kMaxTicks of them.
std::vector<Tick> choose_ticks(int64_t count, int64_t first, double px_per_value, bool horizontal) {
    const auto floor_div = [](int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); };
    const int64_t last = first + count - 1;
    const int64_t wide = widest(
        {number_text(fmt::format("{}", first)), number_text(fmt::format("{}", last))}, kTickSize);
    const double room = static_cast<double>(horizontal ? wide + 8 : line_box(kTickSize) + 4);
    for (int64_t step = 1;; step *= 10) {
        for (const int64_t mult : {1, 2, 5}) {
            const int64_t s = step * mult;
            const int64_t n = floor_div(last, s) - floor_div(first - 1, s);
            if ((static_cast<double>(s) * px_per_value >= room && n <= kMaxTicks) || s >= count) {
                std::vector<Tick> ticks;
                for (int64_t label = (floor_div(first - 1, s) + 1) * s; label <= last; label += s) {
                    const double centre = static_cast<double>(label - first) + 0.5;
                    ticks.push_back({static_cast<int64_t>(centre * px_per_value),
                                     number_text(fmt::format("{}", label))});
                }
                return ticks;
            }
        }
    }
}

// `text` in lines no wider than `width` at `size`: broken at spaces, a word wider than a
// line broken between code points.
std::vector<std::string> wrap_text(const std::string& text, double size, double width) {
    std::vector<std::string> words;
    size_t at = 0;
    while (at <= text.size()) {
        const size_t space = text.find(' ', at);
        const size_t end = space == std::string::npos ? text.size() : space;
        if (end > at) {
            words.push_back(text.substr(at, end - at));
        }
        at = end + 1;
    }
    const auto fits = [&](const std::string& t) { return text_box(t, size).width() <= width; };
    std::vector<std::string> lines;
    std::string line;
    for (std::string word : words) {
        const std::string joined = line.empty() ? word : line + " " + word;
        if (fits(joined)) {
            line = joined;
            continue;
        }
        if (!line.empty()) {
            lines.push_back(line);
            line.clear();
        }
        // A word longer than a line: as many whole code points as fit, then the rest.
        while (!fits(word)) {
            size_t cut = 0;
            for (size_t k = 1; k <= word.size(); ++k) {
                if (k < word.size() && (static_cast<unsigned char>(word[k]) & 0xC0) == 0x80) {
                    continue; // inside a UTF-8 sequence
                }
                if (!fits(word.substr(0, k))) {
                    break;
                }
                cut = k;
            }
            if (cut == 0) {
                cut = 1;
                while (cut < word.size() &&
                       (static_cast<unsigned char>(word[cut]) & 0xC0) == 0x80) {
                    ++cut;
                }
            }
            lines.push_back(word.substr(0, cut));
            word = word.substr(cut);
        }
        line = word;
    }
    if (!line.empty()) {
        lines.push_back(line);
    }
    return lines;
}

// Every position and size of the picture, in figure units (int64: a given cell size may be
// huge until the png size check refuses it).
struct Layout {
    int64_t cell = 1;
    int64_t k = 1;
    int64_t panel_w = 0; // cells only, without the frame
    int64_t panel_h = 0;
    int64_t grid_cols = 1;
    int64_t grid_rows = 1;
    int64_t grid_x = 0; // first panel's cells
    int64_t grid_y = 0;
    int64_t pitch_x = 0; // from one panel to the next
    int64_t pitch_y = 0;
    int64_t label_x = 0;  // left edge of the row labels
    double x_label_x = 0; // left end of the x axis label
    double y_label_y = 0; // lower end of the (upward) y axis label
    int64_t bar_x = 0;
    int64_t bar_w = 0;
    int64_t bar_h = 0;
    int64_t bar_label_w = 0;
    int64_t width = 0;
    int64_t height = 0;
    std::vector<Tick> x_ticks;
    std::vector<Tick> y_ticks;
    std::vector<std::string> bar_labels; // top, bottom, and the zero of a symmetric bar
    std::vector<std::string> title_lines;
    std::vector<std::string> note_lines;
    std::string note; // says the picture is reduced
};

int64_t grid_columns(int64_t n) {
    if (n <= 4) {
        return n;
    }
    // Near-square, preferring a column count that fills the last row.
    const auto c = static_cast<int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    return n % (c + 1) == 0 && n % c != 0 ? c + 1 : c;
}

// Grid slots the panels occupy (explicit slots may leave gaps).
int64_t slot_count(const HeatmapSpec& spec) {
    int64_t next = 0;
    int64_t count = 0;
    for (const Panel& p : spec.panels) {
        next = p.slot >= 0 ? p.slot : next;
        count = std::max(count, ++next);
    }
    return count;
}

int64_t title_line_h() {
    return ceil_units(kTitleSize * 1.3);
}

int64_t note_line_h() {
    return ceil_units(kNoteSize * 1.3);
}

// The (rows, cols) of the map drawn, also when the panels hold pre-reduced cells.
std::pair<int64_t, int64_t> map_shape(const HeatmapSpec& spec) {
    if (spec.reduced) {
        return {spec.reduced->rows, spec.reduced->cols};
    }
    return {spec.panels.front().values.dim(0), spec.panels.front().values.dim(1)};
}

Layout make_layout(const HeatmapSpec& spec, const Range& range, int64_t cell, int64_t k) {
    const int64_t th_tick = line_box(kTickSize);
    const int64_t th_label = line_box(kLabelSize);
    const auto [rows, cols] = map_shape(spec);
    const int64_t n = slot_count(spec);
    Layout l;
    l.cell = cell;
    l.k = k;
    l.panel_w = (cols + k - 1) / k * cell;
    l.panel_h = (rows + k - 1) / k * cell;
    l.grid_cols = spec.columns > 0 ? std::min(spec.columns, n) : grid_columns(n);
    l.grid_rows = (n + l.grid_cols - 1) / l.grid_cols;
    const double px_per_value = static_cast<double>(cell) / static_cast<double>(k);
    l.x_ticks = choose_ticks(cols, spec.x_first, px_per_value, true);
    l.y_ticks = choose_ticks(rows, spec.y_first, px_per_value, false);
    if (k > 1) {
        // The bar spans the raw values, not the drawn cells (means are less extreme).
        const bool ids = spec.scale == ValueScale::ids;
        l.note = fmt::format("reduced 1:{}, each cell the {} of a {}\u00d7{} block; colour bar: "
                             "range of all {}",
                             k, ids ? "top-left id" : "mean", k, k, ids ? "ids" : "values");
    }

    // A panel slot: y tick labels, tick marks, frame, cells; its title above; x tick labels
    // below, which may reach past the cells on either side by half a label.
    std::vector<std::string> texts;
    for (const Tick& t : l.y_ticks) {
        texts.push_back(t.label);
    }
    int64_t lead = widest(texts, kTickSize) + kTickGap + kTickLen + 1;
    texts.clear();
    for (const Tick& t : l.x_ticks) {
        texts.push_back(t.label);
    }
    const int64_t half_x = (widest(texts, kTickSize) + 1) / 2;
    const int64_t first_x = l.x_ticks.empty() ? 0 : l.x_ticks.front().offset;
    const int64_t last_x = l.x_ticks.empty() ? 0 : l.x_ticks.back().offset;
    lead = std::max(lead, half_x - first_x);
    const int64_t overhang = std::max<int64_t>(0, last_x + half_x - (l.panel_w + 1));
    texts.clear();
    for (const Panel& p : spec.panels) {
        texts.push_back(p.title);
    }
    const int64_t slot_w = lead + std::max(l.panel_w + 1 + overhang, widest(texts, kLabelSize));
    l.pitch_x = slot_w + 16;
    const int64_t grid_w = l.grid_cols * slot_w + (l.grid_cols - 1) * 16;
    const int64_t above = th_label + 4 + 1;
    const int64_t below = 1 + kTickLen + kTickGap + th_tick;
    l.pitch_y = above + l.panel_h + below + 12;

    const int64_t row_label_w =
        spec.row_labels.empty() ? 0 : widest(spec.row_labels, kLabelSize) + 10;
    const int64_t y_label_w = spec.y_label.empty() ? 0 : th_label + 6;
    l.label_x = kMargin + y_label_w;
    l.grid_x = kMargin + y_label_w + row_label_w + lead;

    l.bar_labels = {value_text(spec, range.max, true), value_text(spec, range.min, false)};
    if (spec.scale == ValueScale::symmetric) {
        l.bar_labels.push_back("0");
    }
    l.bar_label_w = widest(l.bar_labels, kTickSize);
    l.bar_x = kMargin + y_label_w + row_label_w + grid_w + 20;
    l.bar_w = 12;
    int64_t right = l.bar_x + l.bar_w + 1 + kTickLen + kTickGap + l.bar_label_w;
    if (!spec.value_label.empty()) {
        right += 8 + th_label;
    }
    // The title and note wrap to the width of the rest (at least a readable line).
    const double avail = static_cast<double>(std::max<int64_t>(right - kMargin, 360));
    l.title_lines =
        spec.title.empty() ? std::vector<std::string>{} : wrap_text(spec.title, kTitleSize, avail);
    l.note_lines =
        l.note.empty() ? std::vector<std::string>{} : wrap_text(l.note, kNoteSize, avail);
    int64_t text_w = std::max(widest(l.title_lines, kTitleSize), widest(l.note_lines, kNoteSize));
    int64_t y = kMargin;
    if (!l.title_lines.empty()) {
        y += static_cast<int64_t>(l.title_lines.size()) * title_line_h() + 4;
    }
    if (!l.note_lines.empty()) {
        y += static_cast<int64_t>(l.note_lines.size()) * note_line_h() + 4;
    }
    l.grid_y = y + 4 + above;
    const int64_t cells_bottom = l.grid_y + (l.grid_rows - 1) * l.pitch_y + l.panel_h;
    const int64_t ticks_bottom = cells_bottom + below;
    // At least as tall as the value label written beside it.
    l.bar_h = std::max<int64_t>(
        {cells_bottom - l.grid_y, 100, widest({spec.value_label}, kLabelSize) + 10});
    const int64_t bottom = std::max(ticks_bottom + (spec.x_label.empty() ? 0 : 6 + th_label),
                                    l.grid_y + l.bar_h + th_tick);
    // The axis labels centred on the grid, moved (and the figure grown) to stay inside.
    const int64_t grid_right = l.grid_x + (l.grid_cols - 1) * l.pitch_x + l.panel_w;
    const double x_label_w = d_of(widest({spec.x_label}, kLabelSize));
    l.x_label_x = std::max(d_of(kMargin), d_of(l.grid_x + grid_right) / 2 - x_label_w / 2);
    right = std::max(right, ceil_units(l.x_label_x + x_label_w));
    const double y_label_h = d_of(widest({spec.y_label}, kLabelSize));
    const double y_top =
        std::max(d_of(l.grid_y), d_of(l.grid_y + cells_bottom) / 2 - y_label_h / 2);
    l.y_label_y = y_top + y_label_h;
    l.width = std::max(right, kMargin + text_w) + kMargin;
    l.height = std::max(bottom, ceil_units(l.y_label_y)) + kMargin;
    return l;
}

Layout choose_layout(const HeatmapSpec& spec, const Range& range) {
    const auto [map_rows, map_cols] = map_shape(spec);
    const int64_t longest = std::max(map_rows, map_cols);
    if (spec.reduced && spec.reduced->k > 0) {
        return make_layout(spec, range, 1, spec.reduced->k); // reduced only at one pixel a cell
    }
    if (spec.cell_px > 0) {
        // Bounded before the layout so that its sums cannot overflow int64.
        if (spec.cell_px * longest > INT_MAX) {
            throw Error(fmt::format("panels of {} cells of {} pixels are too large for png; "
                                    "use a smaller cell size",
                                    longest, spec.cell_px));
        }
        return make_layout(spec, range, spec.cell_px, 1);
    }
    // Shrink the cells first; only at one pixel per cell drop values.
    int64_t cell = std::clamp<int64_t>(512 / longest, 1, 48);
    int64_t k = 1;
    for (;;) {
        Layout l = make_layout(spec, range, cell, k);
        const int64_t cells = static_cast<int64_t>(spec.panels.size()) * ((map_rows + k - 1) / k) *
                              ((map_cols + k - 1) / k);
        const bool fits = l.panel_w <= spec.max_panel_px && l.panel_h <= spec.max_panel_px &&
                          l.width <= spec.max_side_px && l.height <= spec.max_side_px &&
                          (spec.max_cells <= 0 || cells <= spec.max_cells);
        if (fits || (cell == 1 && k >= longest)) {
            return l;
        }
        if (cell > 1) {
            --cell;
        } else {
            ++k;
        }
    }
}

// Every coordinate is within the figure once the png size check has passed.
int to_int(int64_t v) {
    return static_cast<int>(v);
}

double d(int64_t v) {
    return static_cast<double>(v);
}

void frame(Figure& fig, int64_t x, int64_t y, int64_t w, int64_t h) {
    fig.rect({d(x - 1), d(y - 1), d(x + w + 1), d(y)}, kFrame);
    fig.rect({d(x - 1), d(y + h), d(x + w + 1), d(y + h + 1)}, kFrame);
    fig.rect({d(x - 1), d(y), d(x), d(y + h)}, kFrame);
    fig.rect({d(x + w), d(y), d(x + w + 1), d(y + h)}, kFrame);
}

// A line of text whose box top is at `top`.
Text text_at_top(const std::string& text, double x, double top, double size,
                 Anchor anchor = Anchor::start) {
    return Text{text, x, top + font_ascent(size), size, anchor, TextDirection::right, kInk};
}

// A label whose digits are centred vertically on `y_centre`.
Text text_centred(const std::string& text, double x, double y_centre, double size, Anchor anchor) {
    return Text{text, x, y_centre + cap_height(size) / 2, size, anchor, TextDirection::right, kInk};
}

void draw_panel(Figure& fig, const HeatmapSpec& spec, const Colormap& cmap, const Range& range,
                const Layout& l, size_t index, int64_t x, int64_t y) {
    const Panel& panel = spec.panels[index];
    const int64_t k = spec.reduced ? 1 : l.k; // pre-reduced panels hold the drawn cells
    CellImage cells;
    cells.x = d(x);
    cells.y = d(y);
    cells.cell_w = cells.cell_h = d(l.cell);
    cells.rows = (panel.values.dim(0) + k - 1) / k;
    cells.cols = (panel.values.dim(1) + k - 1) / k;
    cells.cells.reserve(static_cast<size_t>(cells.rows * cells.cols));
    for (int64_t bi = 0; bi < cells.rows; ++bi) {
        for (int64_t bj = 0; bj < cells.cols; ++bj) {
            const double v =
                detail::block_value(panel.values, bi, bj, k, spec.scale == ValueScale::ids,
                                    [](int64_t, int64_t) { return 1.0; });
            cells.cells.push_back(cmap(normalise(spec, range, v)));
        }
    }
    fig.cells(std::move(cells), fmt::format("panel-{}", index));
    frame(fig, x, y, l.panel_w, l.panel_h);

    const double title_w = text_box(panel.title, kLabelSize).width();
    const double title_top = d(y - 1 - 4 - line_box(kLabelSize));
    if (title_w <= d(l.panel_w)) {
        fig.text(text_at_top(panel.title, d(x) + d(l.panel_w) / 2, title_top, kLabelSize,
                             Anchor::middle));
    } else {
        fig.text(text_at_top(panel.title, d(x - 1), title_top, kLabelSize));
    }
    for (const Tick& t : l.x_ticks) {
        const int64_t tx = x + t.offset;
        fig.rect({d(tx), d(y + l.panel_h + 1), d(tx + 1), d(y + l.panel_h + 1 + kTickLen)}, kInk);
        fig.text(text_at_top(t.label, d(tx) + 0.5, d(y + l.panel_h + 1 + kTickLen + kTickGap),
                             kTickSize, Anchor::middle));
    }
    for (const Tick& t : l.y_ticks) {
        const int64_t ty = y + t.offset;
        fig.rect({d(x - 1 - kTickLen), d(ty), d(x - 1), d(ty + 1)}, kInk);
        fig.text(text_centred(t.label, d(x - 1 - kTickLen - kTickGap), d(ty) + 0.5, kTickSize,
                              Anchor::end));
    }
}

void draw_colorbar(Figure& fig, const HeatmapSpec& spec, const Colormap& cmap, const Layout& l) {
    // A band per unit of height: exact end entries whatever the height (the top row is
    // entry 255, the bottom row entry 0).
    CellImage bar;
    bar.x = d(l.bar_x);
    bar.y = d(l.grid_y);
    bar.cell_w = d(l.bar_w);
    bar.cell_h = 1;
    bar.rows = l.bar_h;
    bar.cols = 1;
    for (int64_t r = 0; r < l.bar_h; ++r) {
        bar.cells.push_back(
            cmap.entry(static_cast<int>(std::lround(d(l.bar_h - 1 - r) * 255.0 / d(l.bar_h - 1)))));
    }
    fig.cells(std::move(bar), "colorbar");
    frame(fig, l.bar_x, l.grid_y, l.bar_w, l.bar_h);
    const int64_t tick_x = l.bar_x + l.bar_w + 1;
    const int64_t at[3] = {l.grid_y, l.grid_y + l.bar_h - 1, l.grid_y + (l.bar_h - 1) / 2};
    for (size_t i = 0; i < l.bar_labels.size(); ++i) {
        fig.rect({d(tick_x), d(at[i]), d(tick_x + kTickLen), d(at[i] + 1)}, kInk);
        fig.text(text_centred(l.bar_labels[i], d(tick_x + kTickLen + kTickGap), d(at[i]) + 0.5,
                              kTickSize, Anchor::start));
    }
    if (!spec.value_label.empty()) {
        const double left = d(tick_x + kTickLen + kTickGap + l.bar_label_w + 8);
        fig.text(Text{spec.value_label, left + font_ascent(kLabelSize),
                      d(l.grid_y) + d(l.bar_h) / 2, kLabelSize, Anchor::middle, TextDirection::up,
                      kInk});
    }
}

void check_png_size(const Layout& l) {
    if (l.width > INT_MAX / 3 || l.height > INT_MAX || (l.width * 3 + 1) * l.height > INT_MAX) {
        throw Error(fmt::format("heatmap of {}x{} pixels ({} per cell) is too large for png; "
                                "(width * 3 + 1) * height must be at most {}; use a smaller "
                                "cell size",
                                l.width, l.height, l.cell, INT_MAX));
    }
}

} // namespace

int64_t heatmap_reduction(const HeatmapSpec& spec, int64_t rows, int64_t cols,
                          const ValueBounds& bounds) {
    validate_sizes(spec);
    if (rows < 1 || cols < 1) {
        throw Error(fmt::format("a map of {} x {} values is empty; nothing to draw", rows, cols));
    }
    // The layout of a map with this shape and no values (k = 0: to be chosen). A copy of
    // the whole spec, so that every field the layout reads counts; callers pass no values.
    HeatmapSpec shape_only = spec;
    for (Panel& p : shape_only.panels) {
        p.values = FloatTensor();
    }
    if (shape_only.panels.empty()) {
        shape_only.panels.emplace_back();
    }
    shape_only.reduced = PreReduced{rows, cols, 0, bounds.min, bounds.max};
    const Layout l = choose_layout(shape_only, value_range(shape_only));
    check_png_size(l);
    return l.k;
}

Figure heatmap_figure(const HeatmapSpec& spec, RenderInfo* info) {
    validate(spec);
    const Range range = value_range(spec);
    const Layout l = choose_layout(spec, range);
    check_png_size(l);
    const Colormap& cmap = spec.colormap != nullptr              ? *spec.colormap
                           : spec.scale == ValueScale::symmetric ? find_colormap("rdbu")
                                                                 : find_colormap("viridis");
    Figure fig;
    fig.width = d(l.width);
    fig.height = d(l.height);
    int64_t y = kMargin;
    for (const std::string& line : l.title_lines) {
        fig.text(text_at_top(line, d(kMargin), d(y), kTitleSize), "title");
        y += title_line_h();
    }
    y += l.title_lines.empty() ? 0 : 4;
    for (const std::string& line : l.note_lines) {
        fig.text(text_at_top(line, d(kMargin), d(y), kNoteSize), "note");
        y += note_line_h();
    }
    std::vector<PixelRect> rects;
    int64_t next = 0;
    for (size_t p = 0; p < spec.panels.size(); ++p) {
        const int64_t index = spec.panels[p].slot >= 0 ? spec.panels[p].slot : next;
        next = index + 1;
        const int64_t x = l.grid_x + index % l.grid_cols * l.pitch_x;
        const int64_t py = l.grid_y + index / l.grid_cols * l.pitch_y;
        draw_panel(fig, spec, cmap, range, l, p, x, py);
        rects.push_back({to_int(x), to_int(py), to_int(l.panel_w), to_int(l.panel_h)});
    }
    draw_colorbar(fig, spec, cmap, l);
    for (size_t r = 0; r < spec.row_labels.size() && static_cast<int64_t>(r) < l.grid_rows; ++r) {
        const int64_t ry = l.grid_y + static_cast<int64_t>(r) * l.pitch_y;
        fig.text(text_centred(spec.row_labels[r], d(l.label_x), d(ry) + d(l.panel_h) / 2,
                              kLabelSize, Anchor::start));
    }

    // Axis labels once for the whole grid: x centred below it, y centred left of it.
    const int64_t cells_bottom = l.grid_y + (l.grid_rows - 1) * l.pitch_y + l.panel_h;
    if (!spec.x_label.empty()) {
        const int64_t top = cells_bottom + 1 + kTickLen + kTickGap + line_box(kTickSize) + 6;
        fig.text(text_at_top(spec.x_label, l.x_label_x, d(top), kLabelSize));
    }
    if (!spec.y_label.empty()) {
        fig.text(Text{spec.y_label, d(kMargin) + font_ascent(kLabelSize), l.y_label_y, kLabelSize,
                      Anchor::start, TextDirection::up, kInk});
    }
    if (info != nullptr) {
        *info = RenderInfo{};
        info->width = to_int(l.width);
        info->height = to_int(l.height);
        info->cell_px = to_int(l.cell);
        info->reduction = to_int(l.k);
        info->value_min = range.min;
        info->value_max = range.max;
        info->panels = std::move(rects);
        info->colorbar = {to_int(l.bar_x), to_int(l.grid_y), to_int(l.bar_w), to_int(l.bar_h)};
        info->note = l.note;
    }
    return fig;
}

Image render_heatmap(const HeatmapSpec& spec, RenderInfo* info) {
    return rasterize(heatmap_figure(spec, info), 1);
}

} // namespace rpb
