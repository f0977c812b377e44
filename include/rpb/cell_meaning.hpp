// What one cell of a picture's panels stands for, beyond the row and column its HeatmapSpec
// labels (axis labels and first tick values): the positions a (query, key) pair stands for
// and the table entry the cell reads. The interactive page (html_figure.hpp) shows these at
// the cursor; the PNG and SVG do not need them. Built beside the HeatmapSpec by the
// functions of visualize.hpp.
#pragma once

#include "rpb/scheme.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace rpb {

struct CellMeaning {
    /// Set when row i is query i and column j key j of this scheme (matrix views, bucket
    /// maps, attention probabilities): the page shows the relative distance of the pair
    /// (t5: key - query = j - (offset + i), T5's convention; 1d: query - key = i - j) or, for
    /// 2d, the offset (dy, dx) = query - key of the two patches and which one is the class
    /// token. Unset: rows and columns are only what the axis labels say.
    std::optional<Scheme> pairs;
    /// The table entry cell (row, col) reads, the same for every panel (bucket id for t5,
    /// index into the table otherwise); empty: no entry is shown (arrays from files,
    /// bucket maps whose value already is the entry).
    std::function<int32_t(int64_t row, int64_t col)> entry;
    /// What the entry is called in the page: "bucket" (t5) or "table entry".
    std::string entry_label = "table entry";
    /// Short names of a row and a column for the page ("dy", "head"); empty: the spec's
    /// y_label and x_label, up to a " = " they hold ("dy = query row - key row" -> "dy").
    std::string row_name;
    std::string col_name;
};

} // namespace rpb
