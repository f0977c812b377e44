// Line plots (value against a number: loss against epoch, bias against distance) laid out as
// a Figure (figure.hpp): panels with axes, grid, ticks that thin out when crowded, a legend
// beside each plot, and matplotlib's tab10 colours.
#pragma once

#include "rpb/figure.hpp"
#include "rpb/image.hpp"

#include <string>
#include <vector>

namespace rpb {

struct LineSeries {
    std::string name;
    std::vector<std::pair<double, double>> points; ///< (x, y); non-finite points are skipped
};

struct LinePlot {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<LineSeries> series; ///< drawn in tab10 order
};

struct LineFigure {
    std::string title; ///< above the panels, wrapped to the figure's width
    std::vector<LinePlot> panels;
    int64_t columns = 0; ///< panels per row; 0: all in one row up to 3, then 3
};

/// matplotlib's tab10 colour k (k taken modulo 10).
Rgb tab10(size_t k);

/// "Nice" tick values covering [low, high] (1, 2 or 5 times a power of ten apart), at most
/// about `count` of them.
std::vector<double> nice_ticks(double low, double high, int count);

/// The panels in a grid under one title, each with a 400 x 260 plot area; series are
/// polylines (tagged "series-<panel>-<k>"), the legend names them. A panel without any
/// finite point shows its axes and "no data". No two texts overlap; all lie inside.
Figure line_plots_figure(const LineFigure& figure);

/// rasterize(line_plots_figure({title, panels}), 1).
Image render_line_plots(const std::vector<LinePlot>& panels, const std::string& title);

} // namespace rpb
