// rasterize(): the figure's items painted in order into an rpb::Image.
#include "rpb/error.hpp"
#include "rpb/figure.hpp"
#include "rpb/png.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

// Edges on whole pixels, so that frames, ticks and cells stay crisp; a positive extent
// never vanishes.
std::pair<int64_t, int64_t> pixel_span(double a, double b, double scale) {
    const int64_t p0 = std::llround(a * scale);
    int64_t p1 = std::llround(b * scale);
    if (b > a && p1 <= p0) {
        p1 = p0 + 1;
    }
    return {p0, p1};
}

void paint(Image& img, const FilledRect& r, double s) {
    const auto [x0, x1] = pixel_span(r.box.x0, r.box.x1, s);
    const auto [y0, y1] = pixel_span(r.box.y0, r.box.y1, s);
    img.fill_rect(x0, y0, x1 - x0, y1 - y0, r.fill);
}

// Cells partition the image's pixels: edges rounded, a cell narrower than a pixel may get
// none (drawn smaller than one pixel per cell, the picture samples cells).
void paint(Image& img, const CellImage& c, double s) {
    const auto edge = [s](double origin, double size, int64_t k) {
        return std::llround((origin + size * static_cast<double>(k)) * s);
    };
    for (int64_t i = 0; i < c.rows; ++i) {
        const int64_t y0 = edge(c.y, c.cell_h, i);
        const int64_t y1 = edge(c.y, c.cell_h, i + 1);
        for (int64_t j = 0; j < c.cols && y1 > y0; ++j) {
            const int64_t x0 = edge(c.x, c.cell_w, j);
            const int64_t x1 = edge(c.x, c.cell_w, j + 1);
            img.fill_rect(x0, y0, x1 - x0, y1 - y0, c.cells[static_cast<size_t>(i * c.cols + j)]);
        }
    }
}

// Anti-aliased stroke: each pixel's coverage is how far its centre lies inside the stroke
// (distance to the nearest segment), taken once per polyline so that joints are not painted
// twice.
void paint(Image& img, const Polyline& p, double s) {
    if (p.points.empty()) {
        return;
    }
    const double half = p.width * s / 2;
    const Box b = item_box(p);
    const auto bx0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(b.x0 * s)) - 1);
    const auto by0 = std::max<int64_t>(0, static_cast<int64_t>(std::floor(b.y0 * s)) - 1);
    const auto bx1 = std::min<int64_t>(img.width(), static_cast<int64_t>(std::ceil(b.x1 * s)) + 1);
    const auto by1 = std::min<int64_t>(img.height(), static_cast<int64_t>(std::ceil(b.y1 * s)) + 1);
    if (bx0 >= bx1 || by0 >= by1) {
        return;
    }
    const int64_t w = bx1 - bx0;
    std::vector<float> coverage(static_cast<size_t>(w * (by1 - by0)), 0.0f);
    // Segments k -> k + 1; a single point is a dot.
    const size_t segments = std::max<size_t>(1, p.points.size() - 1);
    for (size_t k = 0; k < segments; ++k) {
        const double ax = p.points[k].first * s, ay = p.points[k].second * s;
        const auto& next = p.points[std::min(k + 1, p.points.size() - 1)];
        const double ex = next.first * s, ey = next.second * s;
        const double dx = ex - ax, dy = ey - ay;
        const double len2 = dx * dx + dy * dy;
        const auto x0 =
            std::max(bx0, static_cast<int64_t>(std::floor(std::min(ax, ex) - half)) - 1);
        const auto x1 = std::min(bx1, static_cast<int64_t>(std::ceil(std::max(ax, ex) + half)) + 1);
        const auto y0 =
            std::max(by0, static_cast<int64_t>(std::floor(std::min(ay, ey) - half)) - 1);
        const auto y1 = std::min(by1, static_cast<int64_t>(std::ceil(std::max(ay, ey) + half)) + 1);
        for (int64_t y = y0; y < y1; ++y) {
            for (int64_t x = x0; x < x1; ++x) {
                const double px = static_cast<double>(x) + 0.5, py = static_cast<double>(y) + 0.5;
                double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0.0;
                t = std::clamp(t, 0.0, 1.0);
                const double qx = ax + t * dx - px, qy = ay + t * dy - py;
                const double d = std::sqrt(qx * qx + qy * qy);
                const auto c = static_cast<float>(std::clamp(half + 0.5 - d, 0.0, 1.0));
                float& cell = coverage[static_cast<size_t>((y - by0) * w + (x - bx0))];
                cell = std::max(cell, c);
            }
        }
    }
    for (int64_t y = by0; y < by1; ++y) {
        for (int64_t x = bx0; x < bx1; ++x) {
            img.blend(x, y, p.colour, coverage[static_cast<size_t>((y - by0) * w + (x - bx0))]);
        }
    }
}

void paint(Image& img, const Text& t, double s) {
    const double advance = text_width(t.text, t.size);
    const double shift = t.anchor == Anchor::start    ? 0.0
                         : t.anchor == Anchor::middle ? advance / 2
                                                      : advance;
    if (t.direction == TextDirection::right) {
        draw_text(img, (t.x - shift) * s, t.y * s, t.text, t.size * s, t.colour, t.direction);
    } else {
        draw_text(img, t.x * s, (t.y + shift) * s, t.text, t.size * s, t.colour, t.direction);
    }
}

} // namespace

Image rasterize(const Figure& figure, double scale) {
    if (!(scale > 0) || !std::isfinite(scale)) {
        throw Error(fmt::format("figure scale {} is not accepted; it must be positive", scale));
    }
    const auto [w, h] = pixel_size(figure, scale);
    check_png_size(w, h);
    Image img(static_cast<int>(w), static_cast<int>(h), figure.background);
    for (const FigureItem& item : figure.items) {
        std::visit([&img, scale](const auto& shape) { paint(img, shape, scale); }, item.shape);
    }
    return img;
}

} // namespace rpb
