// IDX files (MNIST, Fashion-MNIST), plain or gzip-compressed: reading, hardened.
// formats.md "IDX image data" lists the rules.
#pragma once

#include "rpb/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rpb {

/// The element type, valued as its IDX type code (byte 2 of the file).
enum class IdxType : uint8_t {
    u8 = 0x08,
    i8 = 0x09,
    i16 = 0x0B,
    i32 = 0x0C,
    f32 = 0x0D,
    f64 = 0x0E
};

/// Bytes per element: 1, 1, 2, 4, 4, 8.
size_t idx_type_size(IdxType type);
/// "uint8", "int8", "int16", "int32", "float32", "float64": numpy-style names for messages.
std::string_view idx_type_name(IdxType type);

/// One IDX array. `data` is row-major and already converted from the file's big-endian
/// order to the host's (little-endian) order, so elements can be copied straight into
/// int16_t/int32_t/float/double; for u8 and i8 it is the file's bytes unchanged.
struct IdxArray {
    IdxType type = IdxType::u8;
    Shape dims;
    std::vector<std::byte> data; ///< shape_size(dims) * idx_type_size(type) bytes
};

/// Parses an in-memory IDX file; a file starting with the gzip magic 1f 8b is inflated
/// first (several gzip members back to back are read as one stream, as gzip -d does).
/// `origin` (a path) names the file in error messages. Throws rpb::Error "<origin>: <what
/// is wrong>" for: bytes 0-1 not zero, an unknown type code, 0 dimensions, a header cut
/// short, sizes whose product overflows, data shorter or longer than the sizes say
/// ("truncated IDX data: shape (2, 3) of uint8 needs 6 bytes, 5 present"), a corrupt or
/// truncated gzip stream, and bytes after the last gzip member that do not start another
/// one, zero padding included ("trailing data after the gzip stream (3 bytes, not a gzip
/// member)"). Memory is bounded by the input: inflating stops one byte past the data the
/// header declares (a gzip bomb costs no more than its header says), and the buffer never
/// outgrows what the compressed bytes can inflate to (deflate's best ratio is 1032:1), so
/// a small file claiming gigabytes fails without allocating them.
/// Example: parse_idx(bytes of 00 00 08 01 00 00 00 02 07 09, "l") is u8, dims (2,), {7, 9}.
IdxArray parse_idx(std::span<const std::byte> file, std::string_view origin);

/// Reads and parses an IDX file (plain or gzip, told apart by content, not by name);
/// "-" reads standard input. Throws rpb::Error "<path>: cannot open: <reason>" when
/// unreadable, and parse_idx's errors.
IdxArray read_idx_file(const std::string& path);

} // namespace rpb
