// What `rpbtool visualize` draws, as heatmap specifications (heatmap.hpp): bucket maps, bias
// tensors in three views, attention probabilities, and any array read from a .npy file, each
// with its panels, axis labels, title and colour scale. Nothing is drawn or printed here.
//
// Colour scales (formats.md "Colour maps"): integer data (bucket ids, integer arrays) are
// ValueScale::ids on viridis; biases, and float arrays holding a negative value, are
// ValueScale::symmetric on RdBu_r with one range +-max|v| shared by all panels; other float
// data (probabilities, non-negative arrays) are ValueScale::linear over [min, max] on viridis.
//
// Maps of any size are drawn: bucket maps, bias matrices and arrays are produced or read row
// by row and reduced as the rows arrive (heatmap_reducer.hpp), so memory is bounded by the
// picture, not by the map; a reduced picture says so in its note and its colour bar spans the
// raw values, not the drawn block means.
#pragma once

#include "rpb/array.hpp"
#include "rpb/attention.hpp"
#include "rpb/cell_meaning.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/line_plot.hpp"
#include "rpb/npy.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace rpb {

/// How a bias is laid out in the picture.
enum class BiasView {
    matrix,   ///< (q, k) per head: what the model adds to its logits; axes query / key
    table,    ///< 2d only: each head's (2Wh-1) x (2Ww-1) table centred on offset (0, 0);
              ///< cell (r, c) is table[r * (2Ww-1) + c, h] at dy = r - (Wh-1),
              ///< dx = c - (Ww-1) (query - key, Swin's convention); class-token entries omitted
    distance, ///< t5 and 1d only: a line plot of the bias against relative distance, one
              ///< line per head (t5: key - query; 1d: query - key, each family's own sign
              ///< convention); drawn by bias_distance_plot, not bias_heatmap
    strip,    ///< t5 and 1d only: the same values as a heatmap of one panel, a row per head
              ///< and a column per relative distance (compact for many blocks)
};

/// The picture's size settings (HeatmapSpec's fields of the same names), given before the
/// values because they decide the reduction: cell_px 0 = automatic (reduced when large), a
/// given cell_px is used as is, never reduced; the bounds are where reduction starts.
struct DrawSize {
    int cell_px = 0;
    int max_panel_px = 1024;
    int max_side_px = 4096;
    int64_t max_cells = 0;
};

/// "matrix", "table", "distance", "strip". Throws UsageError naming the value and the accepted
/// names.
BiasView parse_bias_view(std::string_view name);
std::string_view bias_view_name(BiasView view);

/// The view drawn when none is asked for: table for 2d schemes (the Swin paper's picture),
/// matrix otherwise.
BiasView default_bias_view(const Scheme& scheme);

/// Throws UsageError "--head K is out of range: expected all or an integer from 0 to H-1"
/// (or "... expected all or 0" for one panel) unless `head` is unset or in [0, heads).
void check_head(std::optional<int64_t> head, int64_t heads);

/// What the cells of a (query, key) panel of `scheme` stand for (cell_meaning.hpp): the pairs,
/// and the entry each reads from the scheme's index map ("bucket" for t5).
CellMeaning pair_meaning(const Scheme& scheme);

// Each function below that takes `cells` fills it, when given, with what the cells of its
// panels stand for, for the interactive page (html_figure.hpp).

/// The scheme's index map as one panel (ids), axes "query" / "key", value label "bucket"
/// (t5) or "entry". Title "bucket map | <scheme.describe()>". Any size: reduced row by row.
/// `cells` gets the pairs, no entry: the value is it.
HeatmapSpec bucket_heatmap(const Scheme& scheme, const DrawSize& size = {},
                           CellMeaning* cells = nullptr);

/// The bias of `table` ((scheme.num_entries(), heads)) under `scheme`, symmetric scale,
/// panels "head h" for every head or only `head`. `table_source` ends the title (e.g.
/// "table trunc-normal std 0.02 seed 0"). Throws UsageError for a view that does not apply
/// to the scheme (table: 2d only; strip: t5 and 1d) or a head out of range; rpb::Error when
/// the table's shape does not fit the scheme, or for BiasView::distance (a line plot:
/// bias_distance_plot). Any size: the matrix view reduces the rows of bias_source as they
/// are computed.
HeatmapSpec bias_heatmap(const Scheme& scheme, const FloatTensor& table, BiasView view,
                         std::optional<int64_t> head, std::string_view table_source,
                         const DrawSize& size = {}, CellMeaning* cells = nullptr);

/// The bias against relative distance for t5 and 1d schemes: one panel, one line per head
/// (series "head h", every head or only `head`), a point per distance from the most
/// negative up (t5: key - query over the scheme's query and key lengths; 1d: query - key
/// over the window). Title "bias by distance | <scheme> | <table_source>". Throws UsageError
/// for a 2d scheme or a head out of range; rpb::Error when the table does not fit.
LineFigure bias_distance_plot(const Scheme& scheme, const FloatTensor& table,
                              std::optional<int64_t> head, std::string_view table_source);

/// Attention probabilities `probs` of shape (B, H, N, N): panels "head h" of batch 0 (every
/// head or only `head`), linear scale, axes "query" / "key", value label "probability".
/// `description` is the title. Throws rpb::Error when probs is not 4-d or empty, UsageError
/// for a head out of range. `cells` gets pair_meaning(*scheme) when the layer's scheme is
/// given and its map has the probabilities' (N, N) shape, else rows and columns only.
HeatmapSpec attention_heatmap(const FloatTensor& probs, std::optional<int64_t> head,
                              std::string_view description, CellMeaning* cells = nullptr,
                              const Scheme* scheme = nullptr, const DrawSize& size = {});

/// Computes the probability rows of the listed heads of batch 0 and hands them to the sink,
/// head by head in that order, rows in order: attention_probabilities or
/// swin_v2_probabilities bound to a layer and its input.
using ProbabilitySource =
    std::function<void(const std::vector<int64_t>& heads, const ProbabilityRows& sink)>;

/// The same picture of probabilities that are computed while it is drawn, `heads` heads of
/// (queries, keys): each row is folded into its cell as it arrives, so memory is bounded by
/// the picture and the source's rows, whatever the sequence length. Same errors, and the
/// source's; rpb::Error when the source hands over rows out of order or too few.
HeatmapSpec attention_heatmap(const ProbabilitySource& source, int64_t heads, int64_t queries,
                              int64_t keys, std::optional<int64_t> head,
                              std::string_view description, const DrawSize& size = {},
                              CellMeaning* cells = nullptr, const Scheme* scheme = nullptr);

/// Any array read from a file, named `origin` in the title and in errors: 2-d is one panel,
/// 3-d one panel "head i" per leading index, 4-d (attention probabilities) one panel per
/// head of batch 0. Integer and boolean dtypes are drawn as ids; floats as symmetric when
/// a value of batch 0 is negative, else linear. Every value is converted and checked, piece by
/// piece. Throws rpb::Error "<origin>: ..." for another rank, an empty array, data that does
/// not hold the shape, or NaN or infinite values; UsageError for a head out of range.
/// `cells` gets rows and columns only: a file says nothing about positions.
HeatmapSpec array_heatmap(const Array& array, std::optional<int64_t> head, std::string_view origin,
                          const DrawSize& size = {}, CellMeaning* cells = nullptr);

/// The same picture of the array `input` streams, read front to back and reduced as it is
/// read (Fortran-order data is read whole first), named input.origin(). Memory is bounded by
/// the picture whatever the array's size. Same errors, and NpyStream's: an input that ends
/// before its shape's data is an rpb::Error and nothing is drawn.
HeatmapSpec array_heatmap(NpyStream& input, std::optional<int64_t> head, const DrawSize& size = {},
                          CellMeaning* cells = nullptr);

} // namespace rpb
