// The interactive page of a picture (`rpbtool visualize -o fig.html`): one self-contained
// HTML file, no network, no external script, style or font. It shows the panels of a
// HeatmapSpec as the PNG does (title, the panel grid with head titles, axis labels and
// ticks, the colour map and a colour bar with its range), drawn by its own script from the
// embedded values; hovering a cell shows its row and column, what CellMeaning says about it
// (relative distance or offset, table entry) and the exact value. A selector shows all
// panels or one large, and the view zooms (wheel, buttons) and pans (drag).
//
// Embedded data: one JSON object in <script type="application/json" id="rpb-data">, whose
// "values" is base64 of the drawn cells as little-endian float32, panel after panel, row-major
// (panels x drawn_rows x drawn_cols), and "entries" (or null) base64 of little-endian int32
// table entries of one panel's cells (the same for all panels). Every '<' inside the JSON is
// written as \u003c, so that no text (a title naming a file) can end the script element.
#pragma once

#include "rpb/cell_meaning.hpp"
#include "rpb/heatmap.hpp"

#include <cstdint>
#include <string>

namespace rpb {

/// Bounds of what a page embeds. A map larger than these is reduced 1:k as the PNG is: one
/// embedded cell stands for a k x k block of values, the top-left id (ValueScale::ids) or the
/// block's mean (otherwise), and the page says so; entries are then not embedded.
struct HtmlBounds {
    int64_t max_cells = int64_t{1} << 19; ///< embedded cells, all panels together (2 MiB)
    int64_t max_side = 1024;              ///< embedded cells along one side of a panel
};

/// What html_page embedded, for callers and tests.
struct HtmlInfo {
    int64_t reduction = 1; ///< k
    int64_t drawn_rows = 0;
    int64_t drawn_cols = 0;
    double value_min = 0; ///< the colour bar's bottom (-h when symmetric), as the PNG's
    double value_max = 0; ///< its top
    bool has_entries = false;
};

/// The page of `spec`. Throws rpb::Error for what render_heatmap refuses (no panels, a panel
/// that is not 2-d or is empty, panels of different shapes, NaN or infinite values), and
/// UsageError for non-positive bounds. `spec.cell_px` and its pixel bounds do not apply: the
/// page sizes its cells to the window.
std::string html_page(const HeatmapSpec& spec, const CellMeaning& cells,
                      const HtmlBounds& bounds = {}, HtmlInfo* info = nullptr);

/// Standard base64 (RFC 4648, with '=' padding) of `size` bytes.
std::string base64_encode(const void* data, size_t size);

} // namespace rpb
