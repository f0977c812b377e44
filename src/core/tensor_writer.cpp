#include "rpb/tensor_writer.hpp"

#include "rpb/error.hpp"
#include "rpb/npy.hpp"
#include "rpb/text_format.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <future>
#include <type_traits>
#include <vector>

namespace rpb {

namespace {

// Rows are produced and written in blocks of about this many bytes: large enough for
// fast copies and writes, small enough to keep the memory of a 12.9 GB output tiny.
constexpr size_t block_bytes = size_t{4} << 20;

template <typename T>
int64_t rows_per_block(const RowSource<T>& source) {
    if (source.rows_per_fill > 0) {
        return source.rows_per_fill;
    }
    const auto row_bytes =
        static_cast<size_t>(std::max<int64_t>(source.row_length(), 1)) * sizeof(T);
    return static_cast<int64_t>(std::max<size_t>(1, block_bytes / row_bytes));
}

// Calls consume(first_row, count, values) for consecutive blocks, filling the next block on
// a worker thread while the current one is consumed (written), so that computing and
// writing overlap. A plain std::async thread, not a WorkerThread: the scheduler often
// starts it on the writer's own CPU, which costs nothing when the write is quick (the
// writer then just waits), whereas waking the other, idle CPU for each of hundreds of
// blocks did (bias (12, 4096, 4096) to /dev/null: 42 -> 53 ms with WorkerThread).
template <typename T, typename Consume>
void for_each_block(const RowSource<T>& source, Consume consume) {
    const int64_t rows = source.num_rows();
    const int64_t length = source.row_length();
    const int64_t step = rows_per_block(source);
    // Not zero-filled: every block is written in full by fill before it is read, so the
    // pages are first touched by the (possibly parallel) computation that fills them.
    const auto block_size = static_cast<size_t>(std::min(step, rows) * length);
    std::unique_ptr<T[]> current = std::make_unique_for_overwrite<T[]>(block_size);
    std::unique_ptr<T[]> next = std::make_unique_for_overwrite<T[]>(block_size);
    auto fill = [&](std::unique_ptr<T[]>& buffer, int64_t first) {
        source.fill(first, std::min(step, rows - first), buffer.get());
    };
    if (rows == 0) {
        return;
    }
    fill(current, 0);
    for (int64_t first = 0; first < rows; first += step) {
        std::future<void> pending;
        if (first + step < rows) {
            pending = std::async(std::launch::async, fill, std::ref(next), first + step);
        }
        const int64_t count = std::min(step, rows - first);
        try {
            consume(first, count, current.get());
        } catch (...) {
            if (pending.valid()) {
                pending.wait();
            }
            throw;
        }
        if (pending.valid()) {
            pending.get();
        }
        std::swap(current, next);
    }
}

template <typename T>
std::string format_value(T value) {
    if constexpr (std::is_floating_point_v<T>) {
        if (!std::isfinite(value)) {
            throw Error(fmt::format("cannot write {} as JSON or CSV: only finite values are "
                                    "accepted",
                                    value));
        }
        // Shortest text that reads back to the same float32 (Dragonbox in fmt), always
        // with a '.' or exponent so that readers see a float, as numpy.tolist() gives.
        std::string text = fmt::format("{}", value);
        if (text.find_first_of(".e") == std::string::npos) {
            text += ".0";
        }
        return text;
    } else {
        return fmt::format("{}", value);
    }
}

template <typename T>
constexpr std::string_view npy_descr() {
    return std::is_same_v<T, float> ? "<f4" : "<i4";
}

template <typename T>
constexpr std::string_view json_dtype() {
    return std::is_same_v<T, float> ? "float32" : "int32";
}

template <typename T>
void write_npy(OutputFile& out, const RowSource<T>& source) {
    out.write(npy_header(npy_descr<T>(), source.shape));
    // The data is little-endian on every machine rpbtool builds for (x86-64, aarch64).
    static_assert(std::endian::native == std::endian::little);
    if (source.in_memory != nullptr) {
        out.write(source.in_memory,
                  static_cast<size_t>(source.num_rows() * source.row_length()) * sizeof(T));
        return;
    }
    for_each_block(source, [&](int64_t, int64_t count, const T* values) {
        out.write(values, static_cast<size_t>(count * source.row_length()) * sizeof(T));
    });
}

template <typename T>
void write_json(OutputFile& out, const RowSource<T>& source, const OutputMeta& meta) {
    // Keys in the documented order: command, type, params, dtype, shape, data.
    nlohmann::ordered_json head = {
        {"command", meta.command}, {"type", meta.type}, {"params", meta.params}};
    std::string text = head.dump();
    text.pop_back(); // reopen the object to append the data
    text += fmt::format(", \"dtype\": \"{}\", \"shape\": [{}], \"data\": ", json_dtype<T>(),
                        fmt::join(source.shape, ", "));
    out.write(text);
    const Shape& shape = source.shape;
    const auto outer = static_cast<int64_t>(shape.empty() ? 0 : shape.size() - 1);
    if (shape.empty()) {
        T value{};
        source.fill(0, 1, &value);
        out.write(format_value(value));
        out.write("}\n");
        return;
    }
    for_each_block(source, [&](int64_t first, int64_t count, const T* values) {
        std::string buffer;
        for (int64_t r = first; r < first + count; ++r) {
            // How many dimensions start (and end) at this row, counted from the innermost.
            int64_t opening = 0;
            for (int64_t rest = r, d = outer - 1; d >= 0 && rest % shape[d] == 0; --d) {
                ++opening;
                rest /= shape[d];
            }
            int64_t closing = 0;
            for (int64_t rest = r + 1, d = outer - 1; d >= 0 && rest % shape[d] == 0; --d) {
                ++closing;
                rest /= shape[d];
            }
            if (r == 0) {
                buffer.append(static_cast<size_t>(opening), '[');
            } else {
                buffer += ",\n";
                buffer.append(static_cast<size_t>(outer - opening), ' ');
                buffer.append(static_cast<size_t>(opening), '[');
            }
            buffer += '[';
            const T* row = values + (r - first) * source.row_length();
            for (int64_t j = 0; j < source.row_length(); ++j) {
                if (j) {
                    buffer += ", ";
                }
                buffer += format_value(row[j]);
            }
            buffer += ']';
            buffer.append(static_cast<size_t>(closing), ']');
        }
        out.write(buffer);
    });
    if (source.num_rows() == 0) {
        out.write(std::string(static_cast<size_t>(outer + 1), '[') +
                  std::string(static_cast<size_t>(outer + 1), ']'));
    }
    out.write("}\n");
}

template <typename T>
void write_csv(OutputFile& out, const RowSource<T>& source) {
    if (source.shape.size() > 2) {
        throw UsageError(fmt::format("--format csv holds 1-D or 2-D data, and this output has "
                                     "shape {}: use --format npy or json",
                                     shape_string(source.shape)));
    }
    for_each_block(source, [&](int64_t, int64_t count, const T* values) {
        std::string buffer;
        for (int64_t r = 0; r < count; ++r) {
            const T* row = values + r * source.row_length();
            for (int64_t j = 0; j < source.row_length(); ++j) {
                buffer += format_value(row[j]);
                buffer += j + 1 < source.row_length() ? ',' : '\n';
            }
        }
        out.write(buffer);
    });
}

} // namespace

template <typename T>
int64_t RowSource<T>::num_rows() const {
    int64_t rows = 1;
    for (size_t d = 0; d + 1 < shape.size(); ++d) {
        rows *= shape[d];
    }
    return shape.empty() ? 1 : (shape.back() == 0 ? 0 : rows);
}

template <typename T>
RowSource<T> rows_of(const Tensor<T>& tensor) {
    RowSource<T> source;
    source.shape = tensor.shape();
    const int64_t length = source.row_length();
    source.in_memory = tensor.data();
    source.fill = [&tensor, length](int64_t first, int64_t count, T* out) {
        std::copy_n(tensor.data() + first * length, count * length, out);
    };
    return source;
}

template struct RowSource<float>;
template struct RowSource<int32_t>;
template RowSource<float> rows_of(const Tensor<float>&);
template RowSource<int32_t> rows_of(const Tensor<int32_t>&);

OutputFormat parse_output_format(std::string_view name) {
    if (name == "text") {
        return OutputFormat::text;
    }
    if (name == "json") {
        return OutputFormat::json;
    }
    if (name == "npy") {
        return OutputFormat::npy;
    }
    if (name == "csv") {
        return OutputFormat::csv;
    }
    throw UsageError(
        fmt::format("--format {}: unknown format: expected text, json, npy or csv", name));
}

OutputFormat format_from_extension(std::string_view path, bool* recognised) {
    auto ends_with = [&](std::string_view suffix) {
        return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
    };
    const struct {
        std::string_view suffix;
        OutputFormat format;
    } table[] = {{".json", OutputFormat::json},
                 {".npy", OutputFormat::npy},
                 {".csv", OutputFormat::csv},
                 {".txt", OutputFormat::text}};
    for (const auto& entry : table) {
        if (ends_with(entry.suffix)) {
            if (recognised) {
                *recognised = true;
            }
            return entry.format;
        }
    }
    if (recognised) {
        *recognised = false;
    }
    return OutputFormat::text;
}

template <typename T>
static void write_any(OutputFile& out, OutputFormat format, const RowSource<T>& source,
                      const OutputMeta& meta) {
    switch (format) {
    case OutputFormat::npy:
        write_npy(out, source);
        break;
    case OutputFormat::json:
        write_json(out, source, meta);
        break;
    case OutputFormat::csv:
        write_csv(out, source);
        break;
    case OutputFormat::text:
        write_text(out, source);
        break;
    }
}

void write_tensor(OutputFile& out, OutputFormat format, const RowSource<float>& source,
                  const OutputMeta& meta) {
    write_any(out, format, source, meta);
}

void write_tensor(OutputFile& out, OutputFormat format, const RowSource<int32_t>& source,
                  const OutputMeta& meta) {
    write_any(out, format, source, meta);
}

} // namespace rpb
