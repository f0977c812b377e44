// Resizing relative position bias tables for a new window (fine-tuning at a higher
// resolution), as the official Swin code does: each head's (2Wh-1) x (2Ww-1) table
// interpolated bicubically with PyTorch's F.interpolate numerics (mode='bicubic',
// align_corners=False, A = -0.75, source indices clamped at the edges). math.md section 5.
#pragma once

#include "rpb/safetensors_file.hpp"
#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace rpb {

/// F.interpolate(x[None], size=(out_h, out_w), mode='bicubic', align_corners=False)[0] of
/// planes x (C, H, W), evaluated in double and rounded once. Throws UsageError for a size
/// below 1.
FloatTensor bicubic_resize(const FloatTensor& planes, int64_t out_h, int64_t out_w);

/// A 2d table (entries, heads) of `from` resized for a to_h x to_w window: the spatial
/// entries per head as bicubic_resize does, BEiT's three class-token entries carried over
/// unchanged. Throws rpb::Error when the table does not have from.num_entries() rows,
/// UsageError when `from` is not 2d or a side is below 1.
FloatTensor resize_table(const FloatTensor& table, const Scheme& from, int64_t to_h, int64_t to_w);

/// What resize_checkpoint changed, tensor by tensor.
struct ResizedTensor {
    std::string name;
    std::string what; ///< "table 7x7 -> 12x12", "index 7x7 -> 12x12", "coords ..."
};

/// Writes `file` with every 2d window table resized to to_h x to_w, every
/// relative_position_index buffer of a window table or Swin V2 block rewritten for the new
/// window in its own dtype and layout ((N*N,) or (N, N)), Swin V2 relative_coords_table
/// buffers recomputed, every other tensor's bytes and the metadata copied unchanged. Bytes
/// go to `write` in order (the data is never held whole). Returns the changes. Throws
/// rpb::Error when a window table's scheme is unknown (find_biases notes it) or no 2d table
/// is present; UsageError for a side below 1.
std::vector<ResizedTensor> resize_checkpoint(const SafetensorsFile& file, int64_t to_h,
                                             int64_t to_w,
                                             const std::function<void(const void*, size_t)>& write);

} // namespace rpb
