// Private pieces shared by the pictures of visualize.hpp (visualize.cpp, visualize_array.cpp).
#pragma once

#include "rpb/heatmap.hpp"
#include "rpb/visualize.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rpb::detail {

/// Values handed to a HeatmapReducer at a time (whole rows when a row is shorter): 4 MiB of
/// float32, so that memory stays bounded by the picture whatever the map's size.
inline constexpr int64_t reduce_chunk_values = int64_t{1} << 20;

/// The heads drawn, in order: every head, or only `head` (check_head's errors).
std::vector<int64_t> selected_heads(std::optional<int64_t> head, int64_t heads);

/// "head 3".
std::string head_title(int64_t h);

/// Copies `size` into the spec's fields (a given cell_px replaces the spec's own choice).
void apply_size(HeatmapSpec& spec, const DrawSize& size);

} // namespace rpb::detail
