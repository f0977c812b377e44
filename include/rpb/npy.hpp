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
/// Byte-identical to numpy's writer, including its 21 - len(str(shape[0])) spare spaces
/// for the growth axis: npy_header("<f4", {169}) is "\x93NUMPY\x01\x00\x76\x00{'descr':
/// '<f4', 'fortran_order': False, 'shape': (169,), }" + 58 spaces + "\n" (128 bytes).
/// Like numpy, switches to version 2.0 only if the header exceeds 65535 bytes.
std::string npy_header(std::string_view descr, const Shape& shape);

/// Parses an in-memory .npy file. `origin` (a path) names the file in error messages.
/// Throws rpb::Error "<origin>: <what is wrong>" for every malformed input (see
/// formats.md); never allocates more than the input's size (the data size implied by the
/// shape is checked against the file before anything is allocated).
/// Accepts versions 1.0, 2.0 and 3.0; dtypes f2 f4 f8 i1 i2 i4 i8 u1 b1 ('<', '|', '=' or
/// no byte-order mark: little-endian). Big-endian ('>') data is byte-swapped and
/// fortran_order True data is transposed, so the result is always little-endian C order.
/// Object dtypes, structured dtypes and anything else are refused by name. Bytes after
/// the array data are ignored, as np.load ignores them (arrays saved back to back).
Array parse_npy(std::span<const std::byte> file, std::string_view origin);

/// Reads and parses a .npy file; "-" reads standard input (named "standard input" in
/// messages). Throws rpb::Error "<path>: cannot open: <reason>" when unreadable.
Array read_npy(const std::string& path);

/// A whole .npy file in memory (small arrays: tables, weights, test data).
std::string npy_bytes(const FloatTensor& tensor);
std::string npy_bytes(const IntTensor& tensor);

} // namespace rpb
