#include "rpb/heatmap.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <climits>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

constexpr Rgb kInk{34, 34, 34};
constexpr Rgb kFrame{90, 90, 90};
constexpr int kScale = 2; // stb_easy_font at 1:1 (7 px capitals) is unreadable in print
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
    if (spec.panels.empty()) {
        throw Error("no panels to draw; give at least one 2-d tensor");
    }
    const Panel& first = spec.panels.front();
    if (spec.reduced) {
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

std::string value_text(const HeatmapSpec& spec, double v, bool is_top) {
    if (spec.scale == ValueScale::ids) {
        return fmt::format("{:.0f}", v);
    }
    if (spec.scale == ValueScale::symmetric) {
        return v == 0 ? "0" : fmt::format("{}{:.3g}", is_top ? '+' : '-', std::fabs(v));
    }
    return fmt::format("{:.3g}", v);
}

struct Tick {
    int64_t offset; // pixels from the panel's first pixel to the tick
    std::string label;
};

// Ticks at multiples of 1, 2, 5, 10, ... of the labels: the first step that leaves room
// between labels and gives at most kMaxTicks of them.
std::vector<Tick> choose_ticks(int64_t count, int64_t first, double px_per_value, bool horizontal) {
    const auto floor_div = [](int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); };
    const int64_t last = first + count - 1;
    const int64_t widest = std::max(text_width(fmt::format("{}", first), kScale),
                                    text_width(fmt::format("{}", last), kScale));
    const double room =
        static_cast<double>(horizontal ? widest + 8 * kScale : text_height(kScale) + 8 * kScale);
    for (int64_t step = 1;; step *= 10) {
        for (const int64_t mult : {1, 2, 5}) {
            const int64_t s = step * mult;
            const int64_t n = floor_div(last, s) - floor_div(first - 1, s);
            if ((static_cast<double>(s) * px_per_value >= room && n <= kMaxTicks) || s >= count) {
                std::vector<Tick> ticks;
                for (int64_t label = (floor_div(first - 1, s) + 1) * s; label <= last; label += s) {
                    const double centre = static_cast<double>(label - first) + 0.5;
                    ticks.push_back(
                        {static_cast<int64_t>(centre * px_per_value), fmt::format("{}", label)});
                }
                return ticks;
            }
        }
    }
}

// Every position and size of the picture, in pixels (int64: a given cell size may be huge
// until the png size check refuses it).
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
    int title_scale = kScale;
    int64_t bar_x = 0;
    int64_t bar_w = 0;
    int64_t bar_h = 0;
    int64_t width = 0;
    int64_t height = 0;
    std::vector<Tick> x_ticks;
    std::vector<Tick> y_ticks;
    std::vector<std::string> bar_labels; // top, bottom, and the zero of a symmetric bar
    int64_t bar_label_w = 0;
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

int64_t widest(const std::vector<std::string>& texts) {
    int64_t w = 0;
    for (const std::string& t : texts) {
        w = std::max<int64_t>(w, text_width(t, kScale));
    }
    return w;
}

// The (rows, cols) of the map drawn, also when the panels hold pre-reduced cells.
std::pair<int64_t, int64_t> map_shape(const HeatmapSpec& spec) {
    if (spec.reduced) {
        return {spec.reduced->rows, spec.reduced->cols};
    }
    return {spec.panels.front().values.dim(0), spec.panels.front().values.dim(1)};
}

Layout make_layout(const HeatmapSpec& spec, const Range& range, int64_t cell, int64_t k) {
    const int s = kScale;
    const int64_t th = text_height(s);
    const int64_t margin = 10 * s;
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
        l.note = fmt::format("reduced 1:{}, each cell the {} of a {} x {} block; colour bar: "
                             "range of all {}",
                             k, ids ? "top-left id" : "mean", k, k, ids ? "ids" : "values");
    }

    // A panel slot: y tick labels, tick marks, frame, cells; its title above.
    std::vector<std::string> texts;
    for (const Tick& t : l.y_ticks) {
        texts.push_back(t.label);
    }
    const int64_t lead = widest(texts) + 2 * s + 3 * s + 1;
    texts.clear();
    for (const Panel& p : spec.panels) {
        texts.push_back(p.title);
    }
    const int64_t slot_w = lead + std::max(l.panel_w + 1, widest(texts));
    l.pitch_x = slot_w + 12 * s;
    const int64_t grid_w = l.grid_cols * slot_w + (l.grid_cols - 1) * 12 * s;
    // Title, gap, frame | cells | frame, tick mark, gap, tick labels, gap.
    const int64_t above = th + 6 * s + 1;
    l.pitch_y = above + l.panel_h + 1 + 3 * s + 2 * s + th + 10 * s;

    const int64_t row_label_w = spec.row_labels.empty() ? 0 : widest(spec.row_labels) + 8 * s;
    const int64_t y_label_w = (spec.y_label.empty() ? 0 : th + 6 * s) + row_label_w;
    l.grid_x = margin + y_label_w + lead;
    l.title_scale = grid_w >= 1000 ? 3 : 2;
    int64_t y = margin;
    if (!spec.title.empty()) {
        y += text_height(l.title_scale) + 4 * s;
    }
    if (!l.note.empty()) {
        y += th + 4 * s;
    }
    l.grid_y = y + 4 * s + above;
    const int64_t cells_bottom = l.grid_y + (l.grid_rows - 1) * l.pitch_y + l.panel_h;
    const int64_t ticks_bottom = cells_bottom + 1 + 5 * s + th;

    l.bar_labels = {value_text(spec, range.max, true), value_text(spec, range.min, false)};
    if (spec.scale == ValueScale::symmetric) {
        l.bar_labels.push_back("0");
    }
    l.bar_label_w = widest(l.bar_labels);
    l.bar_x = margin + y_label_w + grid_w + 16 * s;
    l.bar_w = 10 * s;
    l.bar_h = std::max<int64_t>(cells_bottom - l.grid_y, 64 * s);
    int64_t right = l.bar_x + l.bar_w + 1 + 6 * s + l.bar_label_w;
    if (!spec.value_label.empty()) {
        right += 8 * s + th;
    }
    const int64_t bottom =
        std::max(ticks_bottom + (spec.x_label.empty() ? 0 : 6 * s + th), l.grid_y + l.bar_h + th);
    l.width = std::max(right + margin,
                       2 * margin + std::max<int64_t>(text_width(spec.title, l.title_scale),
                                                      text_width(l.note, s)));
    l.height = bottom + margin;
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
        const bool fits = l.panel_w <= spec.max_panel_px && l.panel_h <= spec.max_panel_px &&
                          l.width <= spec.max_side_px && l.height <= spec.max_side_px;
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

// The value a drawn cell shows: the top-left id of its block, or the block's mean.
double block_value(const HeatmapSpec& spec, const FloatTensor& v, int64_t bi, int64_t bj,
                   int64_t k) {
    if (spec.scale == ValueScale::ids || k == 1) {
        return v.at(bi * k, bj * k);
    }
    const int64_t i1 = std::min((bi + 1) * k, v.dim(0));
    const int64_t j1 = std::min((bj + 1) * k, v.dim(1));
    double sum = 0;
    for (int64_t i = bi * k; i < i1; ++i) {
        for (int64_t j = bj * k; j < j1; ++j) {
            sum += v.at(i, j);
        }
    }
    return sum / static_cast<double>((i1 - bi * k) * (j1 - bj * k));
}

// Every coordinate is within the image once the png size check has passed.
int to_int(int64_t v) {
    return static_cast<int>(v);
}

void frame(Image& image, int64_t x, int64_t y, int64_t w, int64_t h) {
    image.fill_rect(x - 1, y - 1, w + 2, 1, kFrame);
    image.fill_rect(x - 1, y + h, w + 2, 1, kFrame);
    image.fill_rect(x - 1, y, 1, h, kFrame);
    image.fill_rect(x + w, y, 1, h, kFrame);
}

// Centred on y: digits are 7 units tall, so centre those rather than the 9-unit line.
void draw_label(Image& image, int64_t x, int64_t y_centre, const std::string& text) {
    draw_text(image, to_int(x), to_int(y_centre - 7 * kScale / 2), text, kInk, kScale);
}

void draw_panel(Image& image, const HeatmapSpec& spec, const Colormap& cmap, const Range& range,
                const Layout& l, const Panel& panel, int64_t x, int64_t y) {
    const int s = kScale;
    const int64_t k = spec.reduced ? 1 : l.k; // pre-reduced panels hold the drawn cells
    const int64_t rows = (panel.values.dim(0) + k - 1) / k;
    const int64_t cols = (panel.values.dim(1) + k - 1) / k;
    for (int64_t bi = 0; bi < rows; ++bi) {
        for (int64_t bj = 0; bj < cols; ++bj) {
            const double v = block_value(spec, panel.values, bi, bj, k);
            image.fill_rect(x + bj * l.cell, y + bi * l.cell, l.cell, l.cell,
                            cmap(normalise(spec, range, v)));
        }
    }
    frame(image, x, y, l.panel_w, l.panel_h);

    const int64_t title_w = text_width(panel.title, s);
    const int64_t title_x = title_w <= l.panel_w ? x + (l.panel_w - title_w) / 2 : x - 1;
    draw_text(image, to_int(title_x), to_int(y - 1 - 6 * s - text_height(s)), panel.title, kInk, s);
    for (const Tick& t : l.x_ticks) {
        const int64_t tx = x + t.offset;
        image.fill_rect(tx - s / 2, y + l.panel_h + 1, s, 3 * s, kInk);
        draw_text(image, to_int(tx - text_width(t.label, s) / 2), to_int(y + l.panel_h + 1 + 5 * s),
                  t.label, kInk, s);
    }
    for (const Tick& t : l.y_ticks) {
        const int64_t ty = y + t.offset;
        image.fill_rect(x - 1 - 3 * s, ty - s / 2, 3 * s, s, kInk);
        draw_label(image, x - 1 - 5 * s - text_width(t.label, s), ty, t.label);
    }
}

void draw_colorbar(Image& image, const HeatmapSpec& spec, const Colormap& cmap, const Layout& l) {
    const int s = kScale;
    const int64_t y = l.grid_y;
    for (int64_t r = 0; r < l.bar_h; ++r) {
        // Exact end entries whatever the height: the top row is 255, the bottom row 0.
        const auto entry = static_cast<int>(std::lround(static_cast<double>(l.bar_h - 1 - r) *
                                                        255.0 / static_cast<double>(l.bar_h - 1)));
        image.fill_rect(l.bar_x, y + r, l.bar_w, 1, cmap.entry(entry));
    }
    frame(image, l.bar_x, y, l.bar_w, l.bar_h);
    const int64_t label_x = l.bar_x + l.bar_w + 1 + 6 * s;
    const int64_t at[3] = {y, y + l.bar_h - 1, y + (l.bar_h - 1) / 2};
    for (size_t i = 0; i < l.bar_labels.size(); ++i) {
        image.fill_rect(l.bar_x + l.bar_w + 1, at[i] - s / 2, 3 * s, s, kInk);
        draw_label(image, label_x, at[i], l.bar_labels[i]);
    }
    if (!spec.value_label.empty()) {
        draw_text(image, to_int(label_x + l.bar_label_w + 8 * s),
                  to_int(y + (l.bar_h - text_width(spec.value_label, s)) / 2), spec.value_label,
                  kInk, s, TextDirection::up);
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

Image render_heatmap(const HeatmapSpec& spec, RenderInfo* info) {
    validate(spec);
    const Range range = value_range(spec);
    const Layout l = choose_layout(spec, range);
    check_png_size(l);
    const Colormap& cmap = spec.colormap != nullptr              ? *spec.colormap
                           : spec.scale == ValueScale::symmetric ? find_colormap("rdbu")
                                                                 : find_colormap("viridis");
    Image image(to_int(l.width), to_int(l.height));
    const int s = kScale;
    const int64_t margin = 10 * s;
    int64_t y = margin;
    if (!spec.title.empty()) {
        draw_text(image, to_int(margin), to_int(y), spec.title, kInk, l.title_scale);
        y += text_height(l.title_scale) + 4 * s;
    }
    if (!l.note.empty()) {
        draw_text(image, to_int(margin), to_int(y), l.note, kInk, s);
    }
    std::vector<PixelRect> rects;
    int64_t next = 0;
    for (size_t p = 0; p < spec.panels.size(); ++p) {
        const int64_t index = spec.panels[p].slot >= 0 ? spec.panels[p].slot : next;
        next = index + 1;
        const int64_t x = l.grid_x + index % l.grid_cols * l.pitch_x;
        const int64_t py = l.grid_y + index / l.grid_cols * l.pitch_y;
        draw_panel(image, spec, cmap, range, l, spec.panels[p], x, py);
        rects.push_back({to_int(x), to_int(py), to_int(l.panel_w), to_int(l.panel_h)});
    }
    draw_colorbar(image, spec, cmap, l);
    for (size_t r = 0; r < spec.row_labels.size() && static_cast<int64_t>(r) < l.grid_rows; ++r) {
        const int64_t ry =
            l.grid_y + static_cast<int64_t>(r) * l.pitch_y + (l.panel_h - text_height(s)) / 2;
        const int64_t axis_w = spec.y_label.empty() ? 0 : text_height(s) + 6 * s;
        draw_text(image, to_int(margin + axis_w), to_int(ry), spec.row_labels[r], kInk, s);
    }

    // Axis labels once for the whole grid: x centred below it, y centred left of it.
    const int64_t cells_bottom = l.grid_y + (l.grid_rows - 1) * l.pitch_y + l.panel_h;
    const int64_t grid_right = l.grid_x + (l.grid_cols - 1) * l.pitch_x + l.panel_w;
    if (!spec.x_label.empty()) {
        draw_text(image, to_int((l.grid_x + grid_right - text_width(spec.x_label, s)) / 2),
                  to_int(cells_bottom + 1 + 5 * s + text_height(s) + 6 * s), spec.x_label, kInk, s);
    }
    if (!spec.y_label.empty()) {
        draw_text(image, to_int(margin),
                  to_int((l.grid_y + cells_bottom - text_width(spec.y_label, s)) / 2), spec.y_label,
                  kInk, s, TextDirection::up);
    }
    if (info != nullptr) {
        *info = RenderInfo{};
        info->width = image.width();
        info->height = image.height();
        info->cell_px = to_int(l.cell);
        info->reduction = to_int(l.k);
        info->text_scale = s;
        info->value_min = range.min;
        info->value_max = range.max;
        info->panels = std::move(rects);
        info->colorbar = {to_int(l.bar_x), to_int(l.grid_y), to_int(l.bar_w), to_int(l.bar_h)};
        info->note = l.note;
    }
    return image;
}

} // namespace rpb
