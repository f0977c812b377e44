// Private: the Python-literal header dict of a .npy file (npy.cpp).
#pragma once

#include "rpb/array.hpp"
#include "rpb/tensor.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rpb::detail {

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (keys in any
/// order, either quote, optional trailing comma, surrounding whitespace). Throws
/// rpb::Error "<origin>: malformed .npy header: <what>" for anything else.
NpyHeader parse_npy_header(std::string_view text, std::string_view origin);

/// Where and how a .npy file stores its array.
struct NpyLayout {
    DType dtype = DType::f32;
    bool big_endian = false;
    bool fortran_order = false; ///< only ever true for rank 2 and above
    Shape shape;
    int64_t count = 0;       ///< elements
    uint64_t data_start = 0; ///< byte offset of the data
};

/// The longest preamble accepted (magic, version, 4 length bytes, header limit): reading
/// this many bytes (or the whole file, if shorter) gives parse_npy_layout all it needs.
inline constexpr size_t kNpyMaxPreamble = 8 + 4 + 10000;

/// Validates the preamble of a .npy file of `file_size` bytes whose first bytes are
/// `prefix` (at least min(file_size, kNpyMaxPreamble) of them), including that the file
/// holds all the data the shape needs. Throws rpb::Error "<origin>: <what is wrong>".
NpyLayout parse_npy_layout(std::span<const std::byte> prefix, uint64_t file_size,
                           std::string_view origin);

} // namespace rpb::detail
