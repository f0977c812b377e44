// Bias tensors: bias[h, i, j] = table[index(i, j), h], shape (heads, q, k), or with a batch
// B the zeta/torchscale layout (B * heads, q, k) whose row b * heads + h repeats head h.
// (q, k) are the scheme's (num_queries, num_keys); table is (entries, heads) (table.hpp).
#pragma once

#include "rpb/scheme.hpp"
#include "rpb/tensor.hpp"
#include "rpb/tensor_writer.hpp"

#include <cstdint>
#include <functional>
#include <optional>

namespace rpb {

/// (heads, q, k), or (batch * heads, q, k) when batch is given. Throws UsageError when
/// batch < 1 or the size overflows.
Shape bias_shape(const Scheme& scheme, int64_t heads, std::optional<int64_t> batch);

/// Called after each block with the rows written so far and the total; possibly from a
/// worker thread (never from two at once).
using BiasProgress = std::function<void(int64_t rows_done, int64_t rows_total)>;

/// The bias as a stream of rows of length k (tensor_writer.hpp). Memory is
/// O(heads * (q + k)) for t5/1d and O(heads * entries) for 2d, whatever the output size:
/// t5/1d rows are windows of one vector per head (a row is one copy); 2d rows are blocks
/// of Ww consecutive values of the reversed table column. fill() splits large ranges
/// across the machine's cores; the bytes never depend on how it is called.
/// The scheme is validated (UsageError); the table must be (scheme.num_entries(), heads)
/// with heads >= 1 (rpb::Error naming both shapes otherwise). The source keeps its own
/// copy of what it needs: scheme and table may be destroyed afterwards.
RowSource<float> bias_source(const Scheme& scheme, const FloatTensor& table,
                             std::optional<int64_t> batch = std::nullopt,
                             BiasProgress progress = {});

/// The whole bias in memory, filled from bias_source (for small outputs and attention).
FloatTensor bias_tensor(const Scheme& scheme, const FloatTensor& table,
                        std::optional<int64_t> batch = std::nullopt);

/// The same tensor computed cell by cell with entry_of: the obviously-correct reference the
/// fast source is tested against. Same errors as bias_source.
FloatTensor bias_reference(const Scheme& scheme, const FloatTensor& table,
                           std::optional<int64_t> batch = std::nullopt);

} // namespace rpb
