#include "rpb/idx.hpp"

#include "format_io.hpp"
#include "gzip_stream.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <fmt/format.h>

namespace rpb {

static_assert(std::endian::native == std::endian::little, "rpbtool assumes a little-endian host");

size_t idx_type_size(IdxType type) {
    switch (type) {
    case IdxType::u8:
    case IdxType::i8:
        return 1;
    case IdxType::i16:
        return 2;
    case IdxType::i32:
    case IdxType::f32:
        return 4;
    case IdxType::f64:
        return 8;
    }
    return 0;
}

std::string_view idx_type_name(IdxType type) {
    switch (type) {
    case IdxType::u8:
        return "uint8";
    case IdxType::i8:
        return "int8";
    case IdxType::i16:
        return "int16";
    case IdxType::i32:
        return "int32";
    case IdxType::f32:
        return "float32";
    case IdxType::f64:
        return "float64";
    }
    return "unknown";
}

namespace {

constexpr size_t idx_preamble = 4; // two zero bytes, the type code, the number of dims
constexpr size_t max_header = idx_preamble + 4 * 255;

uint32_t load_be32(const std::byte* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

struct IdxLayout {
    IdxType type = IdxType::u8;
    Shape dims;
    uint64_t data_size = 0;
};

// Checks bytes 0-3 (`first`: the first min(4, available) bytes of a file of `available`
// bytes) and returns the size of the whole header.
size_t header_size(std::span<const std::byte> first, size_t available, std::string_view origin) {
    for (size_t i = 0; i < std::min<size_t>(first.size(), 2); ++i) {
        if (first[i] != std::byte{0}) {
            throw Error(fmt::format("{}: not an IDX file (it does not start with two zero "
                                    "bytes)",
                                    origin));
        }
    }
    if (available < idx_preamble) {
        throw Error(fmt::format("{}: truncated IDX header: {} bytes, at least {} needed", origin,
                                available, idx_preamble));
    }
    const auto code = static_cast<uint8_t>(first[2]);
    if (code != 0x08 && code != 0x09 && (code < 0x0B || code > 0x0E)) {
        throw Error(fmt::format("{}: unknown IDX element type 0x{:02x} (accepted: 0x08 uint8, "
                                "0x09 int8, 0x0b int16, 0x0c int32, 0x0d float32, 0x0e float64)",
                                origin, code));
    }
    const auto rank = static_cast<size_t>(first[3]);
    if (rank == 0) {
        throw Error(fmt::format("{}: IDX file has 0 dimensions (accepted: 1 to 255)", origin));
    }
    return idx_preamble + 4 * rank;
}

// The layout of a complete header (as sized by header_size).
IdxLayout parse_header(std::span<const std::byte> header, std::string_view origin) {
    IdxLayout layout;
    layout.type = static_cast<IdxType>(header[2]);
    for (size_t at = idx_preamble; at + 4 <= header.size(); at += 4) {
        layout.dims.push_back(static_cast<int64_t>(load_be32(header.data() + at)));
    }
    const auto itemsize = static_cast<int64_t>(idx_type_size(layout.type));
    try {
        layout.data_size =
            static_cast<uint64_t>(shape_size(layout.dims, INT64_MAX / itemsize) * itemsize);
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", origin, e.what()));
    }
    return layout;
}

[[noreturn]] void throw_truncated_header(std::string_view origin, size_t needed, size_t present) {
    throw Error(fmt::format("{}: truncated IDX header: {} dimensions need {} bytes, {} present",
                            origin, (needed - idx_preamble) / 4, needed, present));
}

std::string data_needs(const IdxLayout& layout) {
    return fmt::format("shape {} of {} needs {} bytes", shape_string(layout.dims),
                       idx_type_name(layout.type), layout.data_size);
}

[[noreturn]] void throw_truncated_data(std::string_view origin, const IdxLayout& layout,
                                       uint64_t present) {
    throw Error(
        fmt::format("{}: truncated IDX data: {}, {} present", origin, data_needs(layout), present));
}

template <typename Word>
void swap_words(std::byte* data, size_t size) {
    for (size_t at = 0; at + sizeof(Word) <= size; at += sizeof(Word)) {
        Word word;
        std::memcpy(&word, data + at, sizeof(Word));
        if constexpr (sizeof(Word) == 2) {
            word = __builtin_bswap16(word);
        } else if constexpr (sizeof(Word) == 4) {
            word = __builtin_bswap32(word);
        } else {
            word = __builtin_bswap64(word);
        }
        std::memcpy(data + at, &word, sizeof(Word));
    }
}

IdxArray finish(IdxLayout&& layout, std::vector<std::byte>&& data) {
    switch (idx_type_size(layout.type)) {
    case 2:
        swap_words<uint16_t>(data.data(), data.size());
        break;
    case 4:
        swap_words<uint32_t>(data.data(), data.size());
        break;
    case 8:
        swap_words<uint64_t>(data.data(), data.size());
        break;
    default:
        break;
    }
    return IdxArray{layout.type, std::move(layout.dims), std::move(data)};
}

IdxArray parse_plain(std::span<const std::byte> file, std::string_view origin) {
    const size_t size =
        header_size(file.first(std::min(file.size(), idx_preamble)), file.size(), origin);
    if (file.size() < size) {
        throw_truncated_header(origin, size, file.size());
    }
    IdxLayout layout = parse_header(file.first(size), origin);
    const uint64_t present = file.size() - size;
    if (present < layout.data_size) {
        throw_truncated_data(origin, layout, present);
    }
    if (present > layout.data_size) {
        throw Error(fmt::format("{}: trailing data after the IDX array: {}, {} present", origin,
                                data_needs(layout), present));
    }
    std::vector<std::byte> data(file.begin() + static_cast<ptrdiff_t>(size), file.end());
    return finish(std::move(layout), std::move(data));
}

IdxArray parse_gzip(std::span<const std::byte> file, std::string_view origin) {
    detail::GzipReader gzip(file, origin);
    std::array<std::byte, max_header> header{};
    const size_t got = gzip.read(header.data(), idx_preamble);
    const size_t size = header_size(std::span(header).first(got), got, origin);
    const size_t rest = gzip.read(header.data() + idx_preamble, size - idx_preamble);
    if (idx_preamble + rest < size) {
        throw_truncated_header(origin, size, idx_preamble + rest);
    }
    IdxLayout layout = parse_header(std::span(header).first(size), origin);

    // The header alone does not justify its size: a 100-byte file may claim gigabytes.
    // Start at what the rest of the input can inflate to, and grow only while the stream
    // keeps delivering, so memory stays bounded by the input and by the header.
    std::vector<std::byte> data(
        static_cast<size_t>(std::min(layout.data_size, gzip.max_remaining_output())));
    size_t filled = 0;
    for (;;) {
        filled += gzip.read(data.data() + filled, data.size() - filled);
        if (filled < data.size() || filled == layout.data_size) {
            break;
        }
        data.resize(static_cast<size_t>(std::min<uint64_t>(layout.data_size, 2 * data.size())));
    }
    if (filled < layout.data_size) {
        throw_truncated_data(origin, layout, filled);
    }
    // One byte more tells trailing data apart, and drives zlib to the end of the stream,
    // where it checks the CRC-32 and length.
    std::byte extra{};
    if (gzip.read(&extra, 1) != 0) {
        throw Error(fmt::format("{}: trailing data after the IDX array: {}, the gzip stream "
                                "holds more",
                                origin, data_needs(layout)));
    }
    return finish(std::move(layout), std::move(data));
}

} // namespace

IdxArray parse_idx(std::span<const std::byte> file, std::string_view origin) {
    return detail::is_gzip(file) ? parse_gzip(file, origin) : parse_plain(file, origin);
}

IdxArray read_idx_file(const std::string& path) {
    const detail::FileBytes file = detail::read_whole_file(path);
    return parse_idx(file.bytes, file.origin);
}

} // namespace rpb
