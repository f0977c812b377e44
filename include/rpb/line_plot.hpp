// Line plots (value against a number: loss against epoch, bias against distance) drawn into an
// rpb::Image with axes, ticks, a legend and matplotlib's tab10 colours.
#pragma once

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

/// matplotlib's tab10 colour k (k taken modulo 10).
Rgb tab10(size_t k);

/// "Nice" tick values covering [low, high] (1, 2 or 5 times a power of ten apart), at most
/// about `count` of them.
std::vector<double> nice_ticks(double low, double high, int count);

/// The panels side by side under one title, each 360 x 260 pixels of plot area. A panel
/// without any finite point shows its axes and "no data".
Image render_line_plots(const std::vector<LinePlot>& panels, const std::string& title);

} // namespace rpb
