// What `rpbtool visualize` draws, as heatmap specifications (heatmap.hpp): bucket maps, bias
// tensors in three views, attention probabilities, and any array read from a .npy file, each
// with its panels, axis labels, title and colour scale. Nothing is drawn or printed here.
//
// Colour scales (formats.md "Colour maps"): integer data (bucket ids, integer arrays) are
// ValueScale::ids on viridis; biases, and float arrays holding a negative value, are
// ValueScale::symmetric on RdBu_r with one range +-max|v| shared by all panels; other float
// data (probabilities, non-negative arrays) are ValueScale::linear over [min, max] on viridis.
#pragma once

#include "rpb/array.hpp"
#include "rpb/cell_meaning.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace rpb {

/// How a bias is laid out in the picture.
enum class BiasView {
    matrix,   ///< (q, k) per head: what the model adds to its logits; axes query / key
    table,    ///< 2d only: each head's (2Wh-1) x (2Ww-1) table centred on offset (0, 0);
              ///< cell (r, c) is table[r * (2Ww-1) + c, h] at dy = r - (Wh-1),
              ///< dx = c - (Ww-1) (query - key, Swin's convention); class-token entries omitted
    distance, ///< t5 and 1d only: one panel, a row per head, a column per relative distance
              ///< (t5: key - query; 1d: query - key, each family's own sign convention)
};

/// "matrix", "table", "distance". Throws UsageError naming the value and the accepted names.
BiasView parse_bias_view(std::string_view name);
std::string_view bias_view_name(BiasView view);

/// The view drawn when none is asked for: table for 2d schemes (the Swin paper's picture),
/// matrix otherwise.
BiasView default_bias_view(const Scheme& scheme);

/// Most values held in memory for one picture (panels together): 2^26 floats, 256 MiB.
inline constexpr int64_t max_drawn_values = int64_t{1} << 26;

/// Throws UsageError "--head K is out of range: expected all or an integer from 0 to H-1"
/// (or "... expected all or 0" for one panel) unless `head` is unset or in [0, heads).
void check_head(std::optional<int64_t> head, int64_t heads);

/// Throws UsageError naming `what`, the count and max_drawn_values when `values` exceeds it.
void check_drawable(int64_t values, std::string_view what);

/// What the cells of a (query, key) panel of `scheme` stand for (cell_meaning.hpp): the pairs,
/// and the entry each reads from the scheme's index map ("bucket" for t5).
CellMeaning pair_meaning(const Scheme& scheme);

// Each function below fills `cells`, when given, with what the cells of its panels stand
// for, for the interactive page (html_figure.hpp).

/// The scheme's index map as one panel (ids), axes "query" / "key", value label "bucket"
/// (t5) or "entry". Title "bucket map | <scheme.describe()>". Throws UsageError when the
/// map has more than max_drawn_values cells. `cells` gets the pairs, no entry: the value is it.
HeatmapSpec bucket_heatmap(const Scheme& scheme, CellMeaning* cells = nullptr);

/// The bias of `table` ((scheme.num_entries(), heads)) under `scheme`, symmetric scale,
/// panels "head h" for every head or only `head`. `table_source` ends the title (e.g.
/// "table trunc-normal std 0.02 seed 0"). Throws UsageError for a view that does not apply
/// to the scheme (table: 2d only; distance: t5 and 1d), a head out of range, or more than
/// max_drawn_values values; rpb::Error when the table's shape does not fit the scheme.
HeatmapSpec bias_heatmap(const Scheme& scheme, const FloatTensor& table, BiasView view,
                         std::optional<int64_t> head, std::string_view table_source,
                         CellMeaning* cells = nullptr);

/// Attention probabilities `probs` of shape (B, H, N, N): panels "head h" of batch 0 (every
/// head or only `head`), linear scale, axes "query" / "key", value label "probability".
/// `description` is the title. Throws rpb::Error when probs is not 4-d or empty, UsageError
/// for a head out of range. `cells` gets pair_meaning(*scheme) when the layer's scheme is
/// given and its map has the probabilities' (N, N) shape, else rows and columns only.
HeatmapSpec attention_heatmap(const FloatTensor& probs, std::optional<int64_t> head,
                              std::string_view description, CellMeaning* cells = nullptr,
                              const Scheme* scheme = nullptr);

/// Any array read from a file, named `origin` in the title and in errors: 2-d is one panel,
/// 3-d one panel "head i" per leading index, 4-d (attention probabilities) one panel per
/// head of batch 0. Integer and boolean dtypes are drawn as ids; floats as symmetric when
/// a value is negative, else linear. Throws rpb::Error "<origin>: ..." for another rank, an
/// empty array, or NaN or infinite values; UsageError for a head out of range or more than
/// max_drawn_values values in the panels drawn.
/// `cells` gets rows and columns only: a file says nothing about positions.
HeatmapSpec array_heatmap(const Array& array, std::optional<int64_t> head, std::string_view origin,
                          CellMeaning* cells = nullptr);

} // namespace rpb
