// One attention layer over a large batch of windows (Swin), computed piece by piece as a
// writer asks for output rows: neither the input nor the output is ever whole in memory,
// so a batch of any size runs in a few megabytes, and the values are bit for bit those of
// attention_forward.
#pragma once

#include "rpb/attention.hpp"
#include "rpb/index.hpp"
#include "rpb/tensor_writer.hpp"

#include <cstdint>
#include <functional>

namespace rpb {

/// The output (B, N, E) of attention_forward for an input of shape `x_shape` (B, N, E),
/// as a RowSource computed on demand: parts of whole groups (attention_group_items) holding
/// about `part_bytes` of output, read through `read_items` group by group and computed by
/// attention_forward_read. Blocks of rows_per_fill rows are computed straight into the
/// writer's buffer; other ranges (the text writer asks row by row) come from the last part
/// computed. Throws rpb::Error when x_shape is not (B, N, E) with
/// attention_group_items(B, N) > 0 (small batches: use attention_forward). Errors of the
/// computation (weights that do not fit, NaN) are thrown from the writer's calls to fill.
/// Example: write_tensor(out, OutputFormat::npy, streamed_attention({256, 49, 96}, read,
///          weights, EntryIndex(swin7x7), {.heads = 3}), meta)
RowSource<float> streamed_attention(const Shape& x_shape, InputItems read_items,
                                    AttentionWeights weights, const EntryIndex& index,
                                    const AttentionConfig& config,
                                    int64_t part_bytes = int64_t{1} << 20);

} // namespace rpb
