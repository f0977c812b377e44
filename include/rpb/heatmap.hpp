// Heatmap pictures: one image holding a title, a grid of labelled panels (one per head) drawn
// with a colour map, tick labels, axis labels and one colour bar with its value range.
// Panels are (rows, cols) matrices drawn like matplotlib's imshow: row 0 at the top, one
// square cell per value.
#pragma once

#include "rpb/colormap.hpp"
#include "rpb/figure.hpp"
#include "rpb/image.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rpb {

/// How values become colours; the range is shared by all panels.
enum class ValueScale {
    ids,       ///< integer ids (bucket maps, indices): sequential map over [min, max]; a
               ///< reduced picture samples the top-left id of each block
    symmetric, ///< signed values (biases): diverging map, t = 0.5 + 0.5 * v / h with
               ///< h = max |v|; h == 0 paints the centre colour; the bar reads -h .. +h
    linear,    ///< any values (probabilities): sequential map over [min, max]
};

struct Panel {
    std::string title;  ///< e.g. "head 0"
    FloatTensor values; ///< rank 2, (rows, cols); every panel of a spec has the same shape
    int64_t slot = -1;  ///< grid position (row-major); -1: the one after the previous panel
};

/// Panels reduced before drawing, while their values streamed in (heatmap_reducer.hpp): each
/// panel then holds the drawn cells of a (rows, cols) map reduced 1:k exactly as render_heatmap
/// reduces whole panels (block means, the last block of a row or column partial, or the
/// top-left id), and [min, max] is the range of the raw values (the colour bar's range).
struct PreReduced {
    int64_t rows = 0;
    int64_t cols = 0;
    int64_t k = 1;
    double min = 0;
    double max = 0;
};

struct HeatmapSpec {
    std::string title; ///< first line: what is drawn, with its configuration
    std::vector<Panel> panels;
    std::string x_label = "key";
    std::string y_label = "query";
    std::string value_label; ///< beside the colour bar, e.g. "bucket", "bias"; may be empty
    int64_t x_first = 0;     ///< tick label of column 0 (e.g. -6 for a Swin 13x13 table)
    int64_t y_first = 0;     ///< tick label of row 0
    ValueScale scale = ValueScale::linear;
    int64_t columns = 0;                 ///< panels per grid row; 0: near-square automatic
    std::vector<std::string> row_labels; ///< drawn left of grid row r (e.g. a block's name)
    const Colormap* colormap = nullptr;  ///< nullptr: rdbu for symmetric, viridis otherwise
    /// Pixels per cell. 0 = automatic: clamp(512 / max(rows, cols), 1, 48), shrunk, and then
    /// values reduced 1:k, until no panel side exceeds max_panel_px and the image fits in
    /// max_side_px per side. A given cell_px is used as is, never reduced.
    int cell_px = 0;
    int max_panel_px = 1024;
    int max_side_px = 4096;
    /// With automatic cells: also reduced until the panels hold at most this many drawn cells
    /// together (0: no such bound). For the interactive page, which embeds every cell.
    int64_t max_cells = 0;
    /// Set when the panels hold pre-reduced cells (ceil(rows/k), ceil(cols/k)), not values.
    std::optional<PreReduced> reduced;
};

/// The values a map may hold, as far as known before any is seen: the colour bar's labels
/// are sized from them when the reduction is chosen ahead of the values.
struct ValueBounds {
    double min = -8.88e37; ///< the default: labels of three digits at any magnitude
    double max = 8.88e37;
};

/// A rectangle of pixels: [x, x + width) x [y, y + height).
struct PixelRect {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
};

/// Where heatmap_figure put things, in figure units (= pixels of render_heatmap), for
/// callers and tests.
struct RenderInfo {
    int width = 0;
    int height = 0;
    int cell_px = 0;      ///< side of one drawn cell
    int reduction = 1;    ///< k: one drawn cell stands for a k x k block of values (1 = none)
    double value_min = 0; ///< value painted with colour-map entry 0 (-h when symmetric)
    double value_max = 0; ///< value painted with entry 255 (+h when symmetric)
    std::vector<PixelRect> panels; ///< cells of panel p; drawn cell (i, j) is the square at
                                   ///< (x + j * cell_px, y + i * cell_px)
    PixelRect colorbar;            ///< the colour strip: top row is entry 255, bottom row entry 0
    std::string note; ///< the line under the title saying the picture is reduced, or empty
};

/// Lays `spec` out on a white background: the title (wrapped to the figure's width), the
/// note, the panels (cell images tagged "panel-<p>", in spec order) with their titles and
/// ticks, the axis labels, the colour bar (tagged "colorbar") and its labels. Text sizes in
/// figure units: title 14, panel titles and axis labels 12, ticks and bar labels 10. No two
/// texts overlap and all lie inside the figure. Throws rpb::Error for no panels, a panel that
/// is not 2-d or is empty, panels of different shapes, NaN or infinite values, or a figure
/// that PNG cannot hold at scale 1 (see check_png_size); rpb::UsageError for a negative
/// cell_px or a non-positive bound. Fills `info` when given.
Figure heatmap_figure(const HeatmapSpec& spec, RenderInfo* info = nullptr);

/// Throws rpb::Error unless `spec` has panels, each 2-d, not empty, all of one shape and
/// holding finite values only (naming the panel, and the position of a bad value): what every
/// drawing of a spec (PNG, SVG, page) requires of its panels.
void check_panels(const HeatmapSpec& spec);

/// rasterize(heatmap_figure(spec, info), 1).
Image render_heatmap(const HeatmapSpec& spec, RenderInfo* info = nullptr);

/// The reduction k render_heatmap applies to panels of (rows, cols) values under `spec`,
/// decided before any value exists: the panels' titles and slots, labels, scale, cell_px and
/// bounds count, their values are not read, and the colour-bar labels are measured for
/// values within `bounds` (so the picture of the real values never exceeds the bounds).
/// Throws what render_heatmap throws for a bad cell_px or bound, or a picture PNG cannot hold.
int64_t heatmap_reduction(const HeatmapSpec& spec, int64_t rows, int64_t cols,
                          const ValueBounds& bounds = {});

} // namespace rpb
