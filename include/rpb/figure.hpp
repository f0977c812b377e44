// A figure as a display list: filled rectangles, stroked polylines, lines of text and cell
// images (a grid of RGB cells drawn pixelated, for heatmap panels), in figure units (pixels
// at scale 1, x rightwards and y downwards from the top-left corner). The layouts
// (heatmap.hpp, line_plot.hpp) build one; backends turn it into pixels (rasterize) or SVG
// (write_svg), so that the PNG and the SVG of a picture have the same layout. Every item
// may carry a tag (e.g. "panel 3") for a backend that needs to find it again.
#pragma once

#include "rpb/colormap.hpp"
#include "rpb/font.hpp"
#include "rpb/image.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace rpb {

/// An axis-aligned box [x0, x1) x [y0, y1).
struct Box {
    double x0 = 0;
    double y0 = 0;
    double x1 = 0;
    double y1 = 0;

    double width() const { return x1 - x0; }
    double height() const { return y1 - y0; }
    /// True when the interiors intersect (boxes that only touch do not overlap).
    bool overlaps(const Box& other) const {
        return x0 < other.x1 && other.x0 < x1 && y0 < other.y1 && other.y0 < y1;
    }
    bool contains(const Box& other) const {
        return x0 <= other.x0 && y0 <= other.y0 && other.x1 <= x1 && other.y1 <= y1;
    }
};

/// Where a text's anchor point lies along it.
enum class Anchor { start, middle, end };

struct FilledRect {
    Box box;
    Rgb fill;
};

struct Polyline {
    std::vector<std::pair<double, double>> points;
    double width = 1.5; ///< stroke width in figure units
    Rgb colour;
};

/// One line of text; (x, y) is its anchor on the baseline (for TextDirection::up the text
/// runs upwards from it, and "start" is its bottom end).
struct Text {
    std::string text;
    double x = 0;
    double y = 0;
    double size = 12; ///< em size in figure units
    Anchor anchor = Anchor::start;
    TextDirection direction = TextDirection::right;
    Rgb colour;
};

/// rows x cols cells, row-major, cell (i, j) filling [x + j * cell_w, x + (j + 1) * cell_w)
/// x [y + i * cell_h, ...): one flat colour each, never smoothed.
struct CellImage {
    double x = 0;
    double y = 0;
    double cell_w = 1;
    double cell_h = 1;
    int64_t rows = 0;
    int64_t cols = 0;
    std::vector<Rgb> cells;
};

using FigureShape = std::variant<FilledRect, Polyline, Text, CellImage>;

struct FigureItem {
    FigureShape shape;
    std::string tag; ///< empty, or what the item is (e.g. "panel 0", "colorbar")
};

struct Figure {
    double width = 0; ///< figure units; the PNG at scale s is round(width * s) pixels wide
    double height = 0;
    Rgb background = kWhite;
    std::vector<FigureItem> items; ///< drawn in order

    void rect(const Box& box, Rgb fill, std::string tag = {});
    void line(std::vector<std::pair<double, double>> points, double stroke, Rgb colour,
              std::string tag = {});
    void text(Text text, std::string tag = {});
    void cells(CellImage image, std::string tag = {});
    /// Every item of `other`, moved by (dx, dy), after the items already here.
    void append(const Figure& other, double dx, double dy);
};

/// The box `text` occupies: along it from the anchored start to its advance (widened to its
/// glyphs' ink), across it from the font's ascent to its descent; rotated with the text.
Box text_box(const Text& text);

/// text_box of `text` at `size` anchored at its start at (0, 0), reading right.
Box text_box(std::string_view text, double size);

/// The box an item can put ink in (a polyline's points widened by its stroke).
Box item_box(const FigureShape& shape);

/// Pixel size of the figure at `scale`: round(width * scale) x round(height * scale).
std::pair<int64_t, int64_t> pixel_size(const Figure& figure, double scale);

/// The figure in pixels at `scale` (> 0): rectangles and cells with edges rounded to whole
/// pixels (crisp), polylines and text anti-aliased. Throws rpb::Error when the pixel size is
/// not positive or too large for png (check_png_size).
Image rasterize(const Figure& figure, double scale = 1);

/// The figure as a standalone SVG 1.1 document at `scale`: width and height in pixels as
/// rasterize's, viewBox "0 0 width height" in those pixels; text as <text> in
/// font-family "DejaVu Sans", sans-serif; cell images as <rect>s (run-length merged) when
/// small, else one embedded PNG with pixelated rendering. Tags become class attributes.
/// Throws as rasterize does for sizes.
std::string write_svg(const Figure& figure, double scale = 1);

} // namespace rpb
