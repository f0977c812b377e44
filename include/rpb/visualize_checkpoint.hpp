// The picture of a whole checkpoint's position biases (`rpbtool visualize --checkpoint`):
// one grid row per bias, labelled with its block, one panel per head, one colour scale.
#pragma once

#include "rpb/heatmap.hpp"
#include "rpb/safetensors_file.hpp"

#include <string_view>

namespace rpb {

/// How the colour range is shared.
enum class CheckpointRange {
    shared,    ///< one symmetric range +-max|v| over every table
    per_block, ///< each row divided by its own max|v|: shapes comparable, the bar reads +-1
};

/// "shared", "per-block"; UsageError otherwise.
CheckpointRange parse_checkpoint_range(std::string_view name);

/// Every resolved bias of `file` (find_biases order): 2d tables as each head's (2Wh-1) x
/// (2Ww-1) table by offset (the Swin paper's picture; class-token entries omitted), t5 and
/// 1d tables by distance (one panel of heads x distances per block). Rows hold up to the
/// largest head count of panels. Throws rpb::Error when the file has no bias whose scheme is
/// known, or when the biases need panels of different shapes (different windows or kinds),
/// naming two of them.
HeatmapSpec checkpoint_heatmap(const SafetensorsFile& file, CheckpointRange range);

} // namespace rpb
