// write_svg(): the figure as SVG 1.1 in the same layout as rasterize's pixels.
#include "markup_escape.hpp"
#include "rpb/figure.hpp"
#include "rpb/png.hpp"

#include <cmath>
#include <fmt/format.h>

namespace rpb {

namespace {

// Cell images up to this many cells become <rect>s (merged along rows); larger ones, or
// once the figure holds this many times four, one embedded PNG: a browser or PDF viewer
// draws a few thousand rects quickly, but not a million.
constexpr int64_t kMaxRectCells = 4096;
constexpr int64_t kMaxFigureRectCells = 4 * kMaxRectCells;

std::string colour(Rgb c) {
    return fmt::format("#{:02x}{:02x}{:02x}", c.r, c.g, c.b);
}

// Coordinates with at most 3 decimals, without trailing zeros.
std::string num(double v) {
    std::string s = fmt::format("{:.3f}", std::abs(v) < 5e-4 ? 0.0 : v);
    while (s.back() == '0') {
        s.pop_back();
    }
    if (s.back() == '.') {
        s.pop_back();
    }
    return s;
}

std::string tag_attribute(const std::string& tag) {
    return tag.empty() ? "" : fmt::format(" class=\"{}\"", detail::escape_markup(tag));
}

std::string base64(const std::string& bytes) {
    static constexpr char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const size_t n = std::min<size_t>(3, bytes.size() - i);
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
            v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        }
        for (size_t k = 0; k < 4; ++k) {
            out += k <= n ? digits[(v >> (18 - 6 * k)) & 63] : '=';
        }
    }
    return out;
}

void write_rect(std::string& out, const Box& b, Rgb fill, const std::string& attrs = "") {
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"{}/>\n",
                       num(b.x0), num(b.y0), num(b.width()), num(b.height()), colour(fill), attrs);
}

void write_cells(std::string& out, const CellImage& c, const std::string& tag,
                 int64_t& rect_cells) {
    const int64_t n = c.rows * c.cols;
    if (n <= kMaxRectCells && rect_cells + n <= kMaxFigureRectCells) {
        rect_cells += n;
        // crispEdges: no hairline seams between neighbouring cells.
        out += fmt::format("<g{} shape-rendering=\"crispEdges\">\n", tag_attribute(tag));
        for (int64_t i = 0; i < c.rows; ++i) {
            for (int64_t j = 0; j < c.cols;) {
                const Rgb v = c.cells[static_cast<size_t>(i * c.cols + j)];
                int64_t end = j + 1;
                while (end < c.cols && c.cells[static_cast<size_t>(i * c.cols + end)] == v) {
                    ++end;
                }
                const double x0 = c.x + static_cast<double>(j) * c.cell_w;
                const double y0 = c.y + static_cast<double>(i) * c.cell_h;
                write_rect(out, {x0, y0, c.x + static_cast<double>(end) * c.cell_w, y0 + c.cell_h},
                           v);
                j = end;
            }
        }
        out += "</g>\n";
        return;
    }
    Image img(static_cast<int>(c.cols), static_cast<int>(c.rows));
    for (int64_t i = 0; i < c.rows; ++i) {
        for (int64_t j = 0; j < c.cols; ++j) {
            img.fill_rect(j, i, 1, 1, c.cells[static_cast<size_t>(i * c.cols + j)]);
        }
    }
    out += fmt::format("<image{} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" "
                       "preserveAspectRatio=\"none\" image-rendering=\"optimizeSpeed\" "
                       "style=\"image-rendering:pixelated\" xlink:href=\"data:image/png;base64,",
                       tag_attribute(tag), num(c.x), num(c.y),
                       num(c.cell_w * static_cast<double>(c.cols)),
                       num(c.cell_h * static_cast<double>(c.rows)));
    out += base64(encode_png(img));
    out += "\"/>\n";
}

void write_text(std::string& out, const Text& t, const std::string& tag) {
    const char* anchor = t.anchor == Anchor::start    ? "start"
                         : t.anchor == Anchor::middle ? "middle"
                                                      : "end";
    std::string rotate;
    if (t.direction == TextDirection::up) {
        rotate = fmt::format(" transform=\"rotate(-90 {} {})\"", num(t.x), num(t.y));
    }
    out += fmt::format("<text{} x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{}\"{}{}>{}</text>\n",
                       tag_attribute(tag), num(t.x), num(t.y), num(t.size), colour(t.colour),
                       t.anchor == Anchor::start ? "" : fmt::format(" text-anchor=\"{}\"", anchor),
                       rotate, detail::escape_markup(t.text));
}

void write_line(std::string& out, const Polyline& p, const std::string& tag) {
    std::string points;
    for (const auto& [x, y] : p.points) {
        points += fmt::format("{}{},{}", points.empty() ? "" : " ", num(x), num(y));
    }
    out += fmt::format("<polyline{} points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
                       "stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n",
                       tag_attribute(tag), points, colour(p.colour), num(p.width));
}

} // namespace

std::string write_svg(const Figure& figure, double scale) {
    const auto [w, h] = pixel_size(figure, scale);
    check_png_size(w, h); // the same bound as the PNG of the figure
    std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out += fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" "
                       "xmlns:xlink=\"http://www.w3.org/1999/xlink\" version=\"1.1\" "
                       "width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">\n",
                       w, h, w, h);
    out += fmt::format("<rect class=\"background\" width=\"{}\" height=\"{}\" fill=\"{}\"/>\n", w,
                       h, colour(figure.background));
    out += fmt::format("<g font-family=\"'DejaVu Sans', sans-serif\"{}>\n",
                       scale == 1 ? "" : fmt::format(" transform=\"scale({})\"", num(scale)));
    int64_t rect_cells = 0;
    for (const FigureItem& item : figure.items) {
        if (const auto* r = std::get_if<FilledRect>(&item.shape)) {
            write_rect(out, r->box, r->fill, tag_attribute(item.tag));
        } else if (const auto* p = std::get_if<Polyline>(&item.shape)) {
            write_line(out, *p, item.tag);
        } else if (const auto* t = std::get_if<Text>(&item.shape)) {
            write_text(out, *t, item.tag);
        } else if (const auto* c = std::get_if<CellImage>(&item.shape)) {
            write_cells(out, *c, item.tag, rect_cells);
        }
    }
    out += "</g>\n</svg>\n";
    return out;
}

} // namespace rpb
