#include "rpb/line_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

constexpr double kPlotW = 400;
constexpr double kPlotH = 260;
constexpr double kMargin = 12;
constexpr double kTitleSize = 14;
constexpr double kLabelSize = 12;
constexpr double kTickSize = 10;
constexpr double kLegendSize = 10;
constexpr double kLegendRow = 15;
constexpr double kLegendLine = 20;
constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{225, 225, 225};

std::string tick_text(double v, double step) {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::string s = fmt::format("{:.{}f}", std::abs(v) < step * 1e-6 ? 0.0 : v, decimals);
    if (!s.empty() && s[0] == '-') {
        s.replace(0, 1, "\u2212"); // the minus sign
    }
    return s;
}

double width_of(const std::string& text, double size) {
    return text_box(text, size).width();
}

double line_h(double size) {
    return font_ascent(size) + font_descent(size);
}

struct Range {
    double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
    bool empty = true;
};

Range data_range(const LinePlot& plot) {
    Range r;
    for (const LineSeries& s : plot.series) {
        for (const auto& [x, y] : s.points) {
            if (std::isfinite(x) && std::isfinite(y)) {
                r.x_lo = std::min(r.x_lo, x);
                r.x_hi = std::max(r.x_hi, x);
                r.y_lo = std::min(r.y_lo, y);
                r.y_hi = std::max(r.y_hi, y);
                r.empty = false;
            }
        }
    }
    if (r.empty) {
        r = {0, 1, 0, 1, true};
    }
    if (r.x_hi == r.x_lo) {
        r.x_lo -= 0.5, r.x_hi += 0.5;
    }
    if (r.y_hi == r.y_lo) {
        const double pad = std::max(1e-3, std::abs(r.y_lo) * 0.05);
        r.y_lo -= pad, r.y_hi += pad;
    }
    const double y_pad = (r.y_hi - r.y_lo) * 0.05;
    r.y_lo -= y_pad;
    r.y_hi += y_pad;
    return r;
}

struct Ticks {
    std::vector<double> values;
    std::vector<std::string> labels;
};

Ticks make_ticks(double lo, double hi, int count) {
    Ticks t;
    t.values = nice_ticks(lo, hi, count);
    const double step = t.values.size() > 1 ? t.values[1] - t.values[0] : 1.0;
    for (double v : t.values) {
        t.labels.push_back(tick_text(v, step));
    }
    return t;
}

// x ticks whose labels keep at least 8 units apart: fewer until they do.
Ticks x_ticks(double lo, double hi) {
    for (int count = 8;; --count) {
        Ticks t = make_ticks(lo, hi, count);
        double widest = 0;
        for (const std::string& l : t.labels) {
            widest = std::max(widest, width_of(l, kTickSize));
        }
        const double spacing =
            t.values.size() > 1 ? (t.values[1] - t.values[0]) / (hi - lo) * kPlotW : kPlotW;
        if (spacing >= widest + 8 || count <= 2) {
            return t;
        }
    }
}

// Everything one panel needs around its plot area, in units.
struct PanelLayout {
    Range range;
    Ticks xt;
    Ticks yt;
    double left = 0;  // from the panel's left edge to the plot area
    double top = 0;   // from the panel's top to the plot area
    double width = 0; // whole panel
    double height = 0;
    double legend_w = 0;
    int legend_rows = 0;
    int legend_cols = 0;
};

PanelLayout layout_panel(const LinePlot& plot) {
    PanelLayout p;
    p.range = data_range(plot);
    p.xt = x_ticks(p.range.x_lo, p.range.x_hi);
    p.yt = make_ticks(p.range.y_lo, p.range.y_hi, 6);
    double y_label_w = 0;
    for (const std::string& l : p.yt.labels) {
        y_label_w = std::max(y_label_w, width_of(l, kTickSize));
    }
    p.left = (plot.y_label.empty() ? 0 : line_h(kLabelSize) + 6) + std::ceil(y_label_w) + 6;
    p.top = plot.title.empty() ? 4 : line_h(kLabelSize) + 8;
    double name_w = 0;
    for (const LineSeries& s : plot.series) {
        name_w = std::max(name_w, width_of(s.name, kLegendSize));
    }
    const int n = static_cast<int>(plot.series.size());
    const int per_col = std::max(1, static_cast<int>(kPlotH / kLegendRow));
    p.legend_cols = n == 0 ? 0 : (n + per_col - 1) / per_col;
    p.legend_rows = p.legend_cols == 0 ? 0 : (n + p.legend_cols - 1) / p.legend_cols;
    p.legend_w =
        p.legend_cols == 0 ? 0 : p.legend_cols * (kLegendLine + 6 + std::ceil(name_w) + 10) + 4;
    // Half of the last x label may reach past the plot's right edge.
    double last_half = 0;
    if (!p.xt.labels.empty()) {
        last_half = width_of(p.xt.labels.back(), kTickSize) / 2;
    }
    const double title_w = width_of(plot.title, kLabelSize);
    p.width = p.left + std::max({kPlotW + std::max(p.legend_w, last_half), title_w}) + 8;
    p.height = p.top + kPlotH + 4 + 2 + line_h(kTickSize) +
               (plot.x_label.empty() ? 0 : 6 + line_h(kLabelSize)) + 6;
    return p;
}

void draw_panel(Figure& fig, const LinePlot& plot, const PanelLayout& p, double x0, double y0,
                size_t index) {
    const double ox = x0 + p.left;
    const double oy = y0 + p.top;
    const Range& r = p.range;
    auto px = [&](double x) { return ox + (x - r.x_lo) / (r.x_hi - r.x_lo) * kPlotW; };
    auto py = [&](double y) { return oy + (r.y_hi - y) / (r.y_hi - r.y_lo) * kPlotH; };
    if (!plot.title.empty()) {
        // Centred over the plot, or from its left edge when wider.
        const bool fits = width_of(plot.title, kLabelSize) <= kPlotW;
        fig.text(Text{plot.title, fits ? ox + kPlotW / 2 : ox, y0 + font_ascent(kLabelSize),
                      kLabelSize, fits ? Anchor::middle : Anchor::start, TextDirection::right,
                      kAxis});
    }
    // Grid lines on whole units so that they stay one crisp pixel.
    for (size_t k = 0; k < p.yt.values.size(); ++k) {
        const double y = std::round(py(p.yt.values[k]));
        fig.rect({ox, y, ox + kPlotW, y + 1}, kGrid);
        fig.rect({ox - 4, y, ox, y + 1}, kAxis);
        fig.text(Text{p.yt.labels[k], ox - 6, y + 0.5 + cap_height(kTickSize) / 2, kTickSize,
                      Anchor::end, TextDirection::right, kAxis});
    }
    for (size_t k = 0; k < p.xt.values.size(); ++k) {
        const double x = std::round(px(p.xt.values[k]));
        fig.rect({x, oy, x + 1, oy + kPlotH}, kGrid);
        fig.rect({x, oy + kPlotH, x + 1, oy + kPlotH + 4}, kAxis);
        fig.text(Text{p.xt.labels[k], x + 0.5, oy + kPlotH + 6 + font_ascent(kTickSize), kTickSize,
                      Anchor::middle, TextDirection::right, kAxis});
    }
    fig.rect({ox - 1, oy, ox, oy + kPlotH + 1}, kAxis);
    fig.rect({ox - 1, oy + kPlotH, ox + kPlotW, oy + kPlotH + 1}, kAxis);
    if (!plot.x_label.empty()) {
        fig.text(Text{plot.x_label, ox + kPlotW / 2,
                      oy + kPlotH + 6 + line_h(kTickSize) + 6 + font_ascent(kLabelSize), kLabelSize,
                      Anchor::middle, TextDirection::right, kAxis});
    }
    if (!plot.y_label.empty()) {
        fig.text(Text{plot.y_label, x0 + font_ascent(kLabelSize), oy + kPlotH / 2, kLabelSize,
                      Anchor::middle, TextDirection::up, kAxis});
    }
    if (r.empty) {
        fig.text(Text{"no data", ox + kPlotW / 2, oy + kPlotH / 2, kLabelSize, Anchor::middle,
                      TextDirection::right, kAxis});
        return;
    }
    // Series: a polyline per finite run; a lone point is a dot.
    for (size_t k = 0; k < plot.series.size(); ++k) {
        const std::string tag = fmt::format("series-{}-{}", index, k);
        std::vector<std::pair<double, double>> run;
        const auto flush = [&] {
            if (!run.empty()) {
                const double width = run.size() == 1 ? 3.0 : 1.5;
                fig.line(std::move(run), width, tab10(k), tag);
                run.clear();
            }
        };
        for (const auto& [x, y] : plot.series[k].points) {
            if (!std::isfinite(x) || !std::isfinite(y)) {
                flush();
                continue;
            }
            run.emplace_back(px(x), py(y));
        }
        flush();
    }
    // Legend beside the plot, in columns of at most a plot's height.
    double lx = ox + kPlotW + 10;
    for (int c = 0; c < p.legend_cols; ++c) {
        double colw = 0;
        for (int row = 0; row < p.legend_rows; ++row) {
            const size_t k = static_cast<size_t>(c * p.legend_rows + row);
            if (k >= plot.series.size()) {
                break;
            }
            const double y = oy + 4 + row * kLegendRow + kLegendRow / 2;
            fig.line({{lx, y}, {lx + kLegendLine, y}}, 2.0, tab10(k), "legend");
            fig.text(Text{plot.series[k].name, lx + kLegendLine + 6,
                          y + cap_height(kLegendSize) / 2, kLegendSize, Anchor::start,
                          TextDirection::right, kAxis});
            colw = std::max(colw, width_of(plot.series[k].name, kLegendSize));
        }
        lx += kLegendLine + 6 + std::ceil(colw) + 10;
    }
}

} // namespace

Rgb tab10(size_t k) {
    static constexpr std::array<Rgb, 10> colours = {{{31, 119, 180},
                                                     {255, 127, 14},
                                                     {44, 160, 44},
                                                     {214, 39, 40},
                                                     {148, 103, 189},
                                                     {140, 86, 75},
                                                     {227, 119, 194},
                                                     {127, 127, 127},
                                                     {188, 189, 34},
                                                     {23, 190, 207}}};
    return colours[k % colours.size()];
}

std::vector<double> nice_ticks(double low, double high, int count) {
    if (!(high > low)) {
        return {low};
    }
    const double raw = (high - low) / std::max(1, count);
    const double power = std::pow(10.0, std::floor(std::log10(raw)));
    double step = power;
    for (double m : {1.0, 2.0, 5.0, 10.0}) {
        if (m * power >= raw) {
            step = m * power;
            break;
        }
    }
    std::vector<double> ticks;
    for (double v = std::ceil(low / step - 1e-9) * step; v <= high + step * 1e-9; v += step) {
        ticks.push_back(v);
    }
    return ticks;
}

Figure line_plots_figure(const LineFigure& spec) {
    const size_t n = std::max<size_t>(1, spec.panels.size());
    const size_t cols = spec.columns > 0 ? std::min<size_t>(static_cast<size_t>(spec.columns), n)
                                         : std::min<size_t>(n, 3);
    std::vector<PanelLayout> layouts;
    double cell_w = 0, cell_h = 0;
    for (const LinePlot& plot : spec.panels) {
        layouts.push_back(layout_panel(plot));
        cell_w = std::max(cell_w, layouts.back().width);
        cell_h = std::max(cell_h, layouts.back().height);
    }
    const size_t rows = (spec.panels.size() + cols - 1) / cols;
    const double content_w = std::ceil(static_cast<double>(cols) * (cell_w + 12));
    // The title wraps at spaces to the panels' width.
    std::vector<std::string> lines;
    {
        std::string line;
        size_t at = 0;
        while (at <= spec.title.size()) {
            size_t end = spec.title.find(' ', at);
            end = end == std::string::npos ? spec.title.size() : end;
            const std::string word = spec.title.substr(at, end - at);
            at = end + 1;
            if (word.empty()) {
                continue;
            }
            const std::string joined = line.empty() ? word : line + " " + word;
            if (!line.empty() && width_of(joined, kTitleSize) > content_w) {
                lines.push_back(line);
                line = word;
            } else {
                line = joined;
            }
        }
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    double title_w = 0;
    for (const std::string& l : lines) {
        title_w = std::max(title_w, width_of(l, kTitleSize));
    }
    const double title_line = std::ceil(kTitleSize * 1.3);
    Figure fig;
    fig.width = std::ceil(std::max(content_w, title_w) + 2 * kMargin);
    double y = kMargin;
    for (const std::string& l : lines) {
        fig.text(Text{l, fig.width / 2, y + font_ascent(kTitleSize), kTitleSize, Anchor::middle,
                      TextDirection::right, kAxis},
                 "title");
        y += title_line;
    }
    y += lines.empty() ? 0 : 8;
    for (size_t p = 0; p < spec.panels.size(); ++p) {
        const double x0 = kMargin + static_cast<double>(p % cols) * (cell_w + 12);
        const double y0 = y + static_cast<double>(p / cols) * cell_h;
        draw_panel(fig, spec.panels[p], layouts[p], std::round(x0), std::round(y0), p);
    }
    fig.height = std::ceil(y + static_cast<double>(std::max<size_t>(rows, 1)) * cell_h + kMargin);
    return fig;
}

Image render_line_plots(const std::vector<LinePlot>& panels, const std::string& title) {
    return rasterize(line_plots_figure({title, panels, 0}), 1);
}

} // namespace rpb
