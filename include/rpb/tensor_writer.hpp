// Writing tensors as text, JSON, NPY or CSV, streamed row by row so that outputs larger
// than memory (a 12.9 GB bias) never have to exist in memory at once.
#pragma once

#include "rpb/output_file.hpp"
#include "rpb/tensor.hpp"

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace rpb {

enum class OutputFormat { text, json, npy, csv };

/// Parses "text", "json", "npy", "csv"; throws UsageError otherwise.
OutputFormat parse_output_format(std::string_view name);
/// The format implied by a path's extension (.json .npy .csv .txt), or text for none.
OutputFormat format_from_extension(std::string_view path, bool* recognised = nullptr);

/// A tensor produced on demand. Rows are the product of all but the last dimension; a
/// row holds shape.back() values. fill(first, count, out) writes rows [first, first+count)
/// contiguously into out; the writer calls it with increasing, non-overlapping ranges and
/// may call it from a worker thread (never from two threads at once).
template <typename T>
struct RowSource {
    Shape shape;
    std::function<void(int64_t first_row, int64_t count, T* out)> fill;
    /// The whole tensor, when it is already in memory (rows_of): NPY output is then written
    /// straight from it, without copying into (and first touching) block buffers.
    const T* in_memory = nullptr;
    /// When nonzero, the writer asks for blocks of this many rows (the last may be shorter):
    /// the unit in which the source computes, so that its blocks need no re-slicing.
    int64_t rows_per_fill = 0;

    int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }
    int64_t num_rows() const;
};

/// A RowSource reading from an in-memory tensor (which must outlive it).
template <typename T>
RowSource<T> rows_of(const Tensor<T>& tensor);

/// What a JSON document says about the data besides the data itself.
struct OutputMeta {
    std::string command; ///< "bucket", "bias", "attn"
    std::string type;    ///< "t5", "1d", "2d"
    nlohmann::json params = nlohmann::json::object();
};

/// Writes the tensor in `format`. JSON: {"command","type","params","dtype","shape","data"}
/// with data nested like numpy.tolist(); NaN/inf are an rpb::Error. Text: aligned columns,
/// large tensors abbreviated with "..." like numpy's printing. CSV: rank <= 2 only.
void write_tensor(OutputFile& out, OutputFormat format, const RowSource<float>& source,
                  const OutputMeta& meta);
void write_tensor(OutputFile& out, OutputFormat format, const RowSource<int32_t>& source,
                  const OutputMeta& meta);

} // namespace rpb
