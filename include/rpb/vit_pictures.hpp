// Pictures of a trained ViT (`rpbtool visualize --model`): every block's learned bias table,
// and where the model attends for one image. Specifications only (heatmap.hpp); nothing is
// drawn or printed here.
#pragma once

#include "rpb/heatmap.hpp"
#include "rpb/thread_pool.hpp"
#include "rpb/visualize.hpp"
#include "rpb/vit.hpp"

#include <optional>
#include <string>

namespace rpb {

/// Every block's table (or only `layer`'s) in one figure with one shared symmetric range: a
/// row of heads per block (panels "block l, head h") in the table view for rpb-2d, or one
/// panel per block with a row per head in the strip view for t5 and rpb-1d (`view`
/// overrides, as for `visualize --what bias`; the distance view is model_distance_plot's).
/// Throws UsageError for a model without tables (ape, none), a layer out of range, or a view
/// that does not apply.
HeatmapSpec model_bias_heatmap(const ViT& model, std::optional<BiasView> view,
                               std::optional<int64_t> layer, const std::string& origin);

/// t5 and rpb-1d models: every block's (or only `layer`'s) bias against relative distance,
/// a line-plot panel per block ("block l") with a line per head. Throws UsageError for a
/// model of another position scheme or a layer out of range.
LineFigure model_distance_plot(const ViT& model, std::optional<int64_t> layer,
                               const std::string& origin);

/// Where the model looks for one image (C, Hi, Wi) of uint8: for every block (or only `layer`)
/// and head, the attention of the class token over the patch tokens (pool mean: the mean over
/// all queries), as a Gh x Gw map; a row of heads per block, one linear range. Throws
/// UsageError for a layer out of range.
HeatmapSpec model_attention_heatmap(ThreadPool& pool, const ViT& model, const uint8_t* image,
                                    std::optional<int64_t> layer, const std::string& title);

/// The image itself (Hi, Wi) as grey cells, about `side` units on its longer side, titled
/// `title` (tagged "image").
Figure image_picture(const uint8_t* image, int64_t height, int64_t width, const std::string& title,
                     int side);

/// `left` and `right` next to each other on white, tops aligned.
Figure side_by_side(const Figure& left, const Figure& right);

} // namespace rpb
