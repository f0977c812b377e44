// numpy .npy files: reading (versions 1.0 and 2.0, hardened) and writing (version 1.0).
// formats.md "NPY" lists the rules.
#pragma once

#include "rpb/array.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace rpb {

/// The complete version-1.0 preamble (magic, version, header length, header dict padded
/// to a 64-byte boundary) for a C-order array, e.g. descr "<f4" or "<i4". Data follows.
std::string npy_header(std::string_view descr, const Shape& shape);

/// Parses an in-memory .npy file. `origin` (a path) names the file in error messages.
/// Throws rpb::Error for every malformed input (see formats.md); never allocates more
/// than the input's size.
Array parse_npy(std::span<const std::byte> file, std::string_view origin);

/// Reads and parses a .npy file; "-" reads standard input.
Array read_npy(const std::string& path);

/// A whole .npy file in memory (small arrays: tables, weights, test data).
std::string npy_bytes(const FloatTensor& tensor);
std::string npy_bytes(const IntTensor& tensor);

} // namespace rpb
