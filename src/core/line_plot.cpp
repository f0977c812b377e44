#include "rpb/line_plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

constexpr int kPlotW = 360;
constexpr int kPlotH = 260;
constexpr int kLeft = 64;   // room for the y ticks and label
constexpr int kBottom = 44; // room for the x ticks and label
constexpr int kTop = 26;    // panel title
constexpr int kRight = 16;
constexpr Rgb kAxis{40, 40, 40};
constexpr Rgb kGrid{225, 225, 225};

std::string tick_text(double v, double step) {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    return fmt::format("{:.{}f}", std::abs(v) < step * 1e-6 ? 0.0 : v, decimals);
}

// A line of width ~2 px by stepping along it (no anti-aliasing: the bitmap font has none).
void draw_line(Image& img, double x0, double y0, double x1, double y1, Rgb c) {
    const double len = std::max(std::abs(x1 - x0), std::abs(y1 - y0));
    const int steps = std::max(1, static_cast<int>(std::ceil(len * 2)));
    for (int s = 0; s <= steps; ++s) {
        const double t = static_cast<double>(s) / steps;
        const auto x = static_cast<int64_t>(std::lround(x0 + (x1 - x0) * t));
        const auto y = static_cast<int64_t>(std::lround(y0 + (y1 - y0) * t));
        img.fill_rect(x - 1, y - 1, 2, 2, c);
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

Image render_line_plots(const std::vector<LinePlot>& panels, const std::string& title) {
    const int panel_w = kLeft + kPlotW + kRight;
    const int panel_h = kTop + kPlotH + kBottom;
    const int title_h = 30;
    const int n = std::max<int>(1, static_cast<int>(panels.size()));
    Image img(panel_w * n + 10, panel_h + title_h + 10);
    draw_text(img, (img.width() - text_width(title, 2)) / 2, 8, title, kAxis, 2);
    for (int p = 0; p < static_cast<int>(panels.size()); ++p) {
        const LinePlot& plot = panels[static_cast<size_t>(p)];
        const int ox = 5 + p * panel_w + kLeft;
        const int oy = title_h + kTop;
        double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
        for (const LineSeries& s : plot.series) {
            for (const auto& [x, y] : s.points) {
                if (std::isfinite(x) && std::isfinite(y)) {
                    x_lo = std::min(x_lo, x);
                    x_hi = std::max(x_hi, x);
                    y_lo = std::min(y_lo, y);
                    y_hi = std::max(y_hi, y);
                }
            }
        }
        draw_text(img, ox + (kPlotW - text_width(plot.title, 1)) / 2, title_h + 8, plot.title,
                  kAxis, 1);
        const bool empty = !std::isfinite(x_lo);
        if (empty) {
            x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
        }
        if (x_hi == x_lo) {
            x_lo -= 0.5, x_hi += 0.5;
        }
        if (y_hi == y_lo) {
            const double pad = std::max(1e-3, std::abs(y_lo) * 0.05);
            y_lo -= pad, y_hi += pad;
        }
        const double y_pad = (y_hi - y_lo) * 0.05;
        y_lo -= y_pad;
        y_hi += y_pad;
        auto px = [&](double x) { return ox + (x - x_lo) / (x_hi - x_lo) * (kPlotW - 1); };
        auto py = [&](double y) { return oy + (y_hi - y) / (y_hi - y_lo) * (kPlotH - 1); };
        // Grid and ticks.
        const std::vector<double> yt = nice_ticks(y_lo, y_hi, 6);
        const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
        for (double v : yt) {
            const auto y = static_cast<int>(std::lround(py(v)));
            img.fill_rect(ox, y, kPlotW, 1, kGrid);
            img.fill_rect(ox - 4, y, 4, 1, kAxis);
            const std::string label = tick_text(v, ystep);
            draw_text(img, ox - 7 - text_width(label), y - 4, label, kAxis);
        }
        const std::vector<double> xt = nice_ticks(x_lo, x_hi, 8);
        const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
        for (double v : xt) {
            const auto x = static_cast<int>(std::lround(px(v)));
            img.fill_rect(x, oy, 1, kPlotH, kGrid);
            img.fill_rect(x, oy + kPlotH, 1, 4, kAxis);
            const std::string label = tick_text(v, xstep);
            draw_text(img, x - text_width(label) / 2, oy + kPlotH + 7, label, kAxis);
        }
        img.fill_rect(ox, oy, 1, kPlotH, kAxis);
        img.fill_rect(ox, oy + kPlotH, kPlotW, 1, kAxis);
        draw_text(img, ox + (kPlotW - text_width(plot.x_label)) / 2, oy + kPlotH + 24, plot.x_label,
                  kAxis);
        draw_text(img, ox - kLeft + 4, oy + (kPlotH - text_width(plot.y_label)) / 2, plot.y_label,
                  kAxis, 1, TextDirection::up);
        if (empty) {
            draw_text(img, ox + (kPlotW - text_width("no data")) / 2, oy + kPlotH / 2, "no data",
                      kAxis);
            continue;
        }
        // Series, then the legend in the top-right corner.
        for (size_t k = 0; k < plot.series.size(); ++k) {
            const auto& pts = plot.series[k].points;
            const Rgb colour = tab10(k);
            bool have = false;
            double lx = 0, ly = 0;
            for (const auto& [x, y] : pts) {
                if (!std::isfinite(x) || !std::isfinite(y)) {
                    have = false;
                    continue;
                }
                if (have) {
                    draw_line(img, lx, ly, px(x), py(y), colour);
                } else {
                    img.fill_rect(std::lround(px(x)) - 1, std::lround(py(y)) - 1, 3, 3, colour);
                }
                lx = px(x), ly = py(y), have = true;
            }
        }
        int legend_w = 0;
        for (const LineSeries& s : plot.series) {
            legend_w = std::max(legend_w, text_width(s.name) + 24);
        }
        const int lx0 = ox + kPlotW - legend_w - 8;
        int ly0 = oy + 8;
        for (size_t k = 0; k < plot.series.size(); ++k) {
            img.fill_rect(lx0, ly0 + 3, 14, 3, tab10(k));
            draw_text(img, lx0 + 20, ly0, plot.series[k].name, kAxis);
            ly0 += 14;
        }
    }
    return img;
}

} // namespace rpb
