#include "rpb/safetensors.hpp"

#include "format_io.hpp"
#include "format_safetensors_header.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace rpb {

namespace {

// The reference reader's limit on the JSON header (safetensors MAX_HEADER_SIZE).
constexpr uint64_t max_header_size = 100'000'000;

} // namespace

TensorMap parse_safetensors(std::span<const std::byte> file, std::string_view origin) {
    SafetensorsMetadata ignored;
    return parse_safetensors(file, origin, ignored);
}

namespace detail {

uint64_t index_safetensors(std::span<const std::byte> file, std::string_view origin,
                           std::vector<SafetensorsEntry>& entries, SafetensorsMetadata* metadata) {
    const size_t size = file.size();
    if (size < 8) {
        throw Error(fmt::format("{}: not a .safetensors file: {} bytes, too short for the 8-byte "
                                "header size",
                                origin, size));
    }
    const uint64_t header_size = load_le(file.data(), 8);
    if (header_size > max_header_size) {
        throw Error(fmt::format("{}: safetensors header size {} exceeds the limit of {} bytes",
                                origin, header_size, max_header_size));
    }
    if (header_size > size - 8) {
        throw Error(fmt::format("{}: safetensors header size {} exceeds the file ({} bytes)",
                                origin, header_size, size));
    }
    const std::string_view header(reinterpret_cast<const char*>(file.data()) + 8, header_size);
    entries = parse_safetensors_header(header, origin, metadata);

    // The reference reader's order: by data_offsets, then each must start where the
    // previous one ended.
    std::vector<const SafetensorsEntry*> order;
    for (const auto& e : entries) {
        order.push_back(&e);
    }
    std::stable_sort(order.begin(), order.end(),
                     [](const auto* a, const auto* b) { return a->offsets < b->offsets; });
    uint64_t end = 0;
    const SafetensorsEntry* previous = nullptr;
    for (const auto* e : order) {
        const std::string name = printable(e->name);
        const uint64_t begin = e->offsets[0];
        if (e->offsets[1] < begin) {
            throw Error(fmt::format("{}: tensor '{}' has data_offsets [{}, {}] with end before "
                                    "begin",
                                    origin, name, begin, e->offsets[1]));
        }
        if (begin > end) {
            throw Error(fmt::format(
                "{}: gap in safetensors data: tensor '{}' begins at {}, {} "
                "at {}",
                origin, name, begin,
                previous ? fmt::format("the previous tensor '{}' ends", printable(previous->name))
                         : std::string("the buffer starts"),
                end));
        }
        if (begin < end) {
            throw Error(fmt::format("{}: tensors '{}' and '{}' overlap in the safetensors data "
                                    "(begin {} < end {})",
                                    origin, printable(previous->name), name, begin, end));
        }
        const auto itemsize = static_cast<int64_t>(dtype_size(e->dtype));
        int64_t count = 0;
        try {
            count = shape_size(e->shape, INT64_MAX / itemsize);
        } catch (const Error& error) {
            throw Error(fmt::format("{}: tensor '{}': {}", origin, name, error.what()));
        }
        const auto needed = static_cast<uint64_t>(count * itemsize);
        if (e->offsets[1] - begin != needed) {
            throw Error(fmt::format("{}: tensor '{}' has {} bytes of data, its shape {} of {} "
                                    "needs {}",
                                    origin, name, e->offsets[1] - begin, shape_string(e->shape),
                                    dtype_name(e->dtype), needed));
        }
        end = e->offsets[1];
        previous = e;
    }
    const uint64_t buffer = size - 8 - header_size;
    if (end < buffer) {
        throw Error(fmt::format("{}: {} trailing bytes after the safetensors data (the tensors "
                                "end at {})",
                                origin, buffer - end, end));
    }
    if (end > buffer) {
        throw Error(fmt::format("{}: truncated safetensors data: the tensors need {} bytes, {} "
                                "present",
                                origin, end, buffer));
    }

    return 8 + header_size;
}

} // namespace detail

TensorMap parse_safetensors(std::span<const std::byte> file, std::string_view origin,
                            SafetensorsMetadata& metadata) {
    std::vector<detail::SafetensorsEntry> entries;
    const uint64_t data_start = detail::index_safetensors(file, origin, entries, &metadata);
    TensorMap tensors;
    const std::byte* data = file.data() + data_start;
    for (auto& e : entries) {
        Array array;
        array.dtype = e.dtype;
        array.shape = std::move(e.shape);
        array.bytes.assign(data + e.offsets[0], data + e.offsets[1]);
        tensors.emplace(std::move(e.name), std::move(array));
    }
    return tensors;
}

TensorMap read_safetensors(const std::string& path) {
    const detail::FileBytes file = detail::read_whole_file(path);
    return parse_safetensors(file.bytes, file.origin);
}

TensorMap read_safetensors(const std::string& path, SafetensorsMetadata& metadata) {
    const detail::FileBytes file = detail::read_whole_file(path);
    return parse_safetensors(file.bytes, file.origin, metadata);
}

std::string safetensors_bytes(const std::vector<std::pair<std::string, FloatTensor>>& tensors,
                              const std::map<std::string, std::string>& metadata) {
    std::vector<const std::pair<std::string, FloatTensor>*> sorted;
    for (const auto& t : tensors) {
        sorted.push_back(&t);
    }
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->first < b->first; });
    // The reference writer (serde_json, compact) orders entries by dtype, then name; with
    // float32 only that is by name, and each entry's keys come in declaration order.
    std::string header = "{";
    if (!metadata.empty()) {
        try {
            header += "\"__metadata__\":" + nlohmann::json(metadata).dump();
        } catch (const nlohmann::json::exception&) {
            throw Error("safetensors metadata is not valid UTF-8");
        }
    }
    std::string data;
    for (size_t i = 0; i < sorted.size(); ++i) {
        const auto& [name, tensor] = *sorted[i];
        if (i > 0 && name == sorted[i - 1]->first) {
            throw Error(fmt::format("duplicate tensor name '{}' for a safetensors file",
                                    detail::printable(name)));
        }
        if (name == "__metadata__") {
            throw Error("'__metadata__' is reserved and cannot name a safetensors tensor");
        }
        std::string quoted;
        try {
            quoted = nlohmann::json(name).dump();
        } catch (const nlohmann::json::exception&) {
            throw Error(
                fmt::format("tensor name '{}' is not valid UTF-8", detail::printable(name)));
        }
        std::string dims;
        for (size_t k = 0; k < tensor.shape().size(); ++k) {
            dims += fmt::format("{}{}", k ? "," : "", tensor.shape()[k]);
        }
        const size_t begin = data.size();
        data.append(reinterpret_cast<const char*>(tensor.data()),
                    static_cast<size_t>(tensor.size()) * sizeof(float));
        header +=
            fmt::format("{}{}:{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                        i > 0 || !metadata.empty() ? "," : "", quoted, dims, begin, data.size());
    }
    header += '}';
    header.append((8 - header.size() % 8) % 8, ' ');
    std::string out;
    for (size_t b = 0; b < 8; ++b) {
        out += static_cast<char>((static_cast<uint64_t>(header.size()) >> (8 * b)) & 0xff);
    }
    return out + header + data;
}

} // namespace rpb
