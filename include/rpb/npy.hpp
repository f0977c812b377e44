// numpy .npy files: reading (versions 1.0 and 2.0, hardened) and writing (version 1.0).
// formats.md "NPY" lists the rules.
#pragma once

#include "rpb/array.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

/// A regular .npy file read piece by piece, so that a large input need not be held whole
/// (nor copied): `rpbtool attn` streams a batch of windows through memory this way.
class NpyFileReader {
public:
    /// Opens `path` and validates its preamble with read_npy's checks and messages
    /// ("<path>: cannot open: <reason>", "<path>: truncated .npy data: ...", ...).
    /// Returns nullptr when `path` is "-" or not a regular file (a pipe cannot be read
    /// twice) or when the data is in Fortran order: read those whole with read_npy.
    static std::unique_ptr<NpyFileReader> open(const std::string& path);
    ~NpyFileReader();
    NpyFileReader(const NpyFileReader&) = delete;
    NpyFileReader& operator=(const NpyFileReader&) = delete;

    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t count() const { return count_; }

    /// Elements [first, first + count) in C order as float32, converted like to_float32
    /// (same messages, prefixed with `what`, positions named in the whole array). Throws
    /// rpb::Error when the range is outside the array or the file cannot be read or has
    /// become shorter since it was opened. Safe to call from several threads at once.
    /// Example: reader->read_float32(49 * 96, 49 * 96, out, "--input x.npy") reads item 1
    /// of a (B, 49, 96) array.
    void read_float32(int64_t first, int64_t count, float* out, std::string_view what) const;

private:
    NpyFileReader() = default;

    int fd_ = -1;
    std::string path_;
    DType dtype_ = DType::f32;
    bool big_endian_ = false;
    Shape shape_;
    int64_t count_ = 0;
    uint64_t data_start_ = 0;
};

/// A .npy file or standard input read once, front to back, a piece at a time: arrays larger
/// than memory, and pipes, which cannot be read twice (`rpbtool visualize --input` reads so).
class NpyStream {
public:
    /// Opens `path` ("-": standard input, named "standard input" in messages) and validates
    /// the preamble with read_npy's checks and messages. A regular file's size (and an input
    /// that ends within the first 10 kB) is checked against the shape at once; a longer pipe
    /// is checked as it is read. Throws rpb::Error "<path>: cannot open: <reason>", ...
    explicit NpyStream(const std::string& path);
    ~NpyStream();
    NpyStream(const NpyStream&) = delete;
    NpyStream& operator=(const NpyStream&) = delete;

    const std::string& origin() const { return origin_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t count() const { return count_; }
    /// Fortran-order data (rank 2 and above) is not in row order: read it with read_whole.
    bool fortran_order() const { return fortran_order_; }

    /// The next `count` elements in C order as float32, converted like to_float32 (messages
    /// "<origin>: element (i, j) is nan (values must be finite)" name positions in the whole
    /// array). Throws rpb::Error "<origin>: truncated .npy data: shape S of T needs N bytes,
    /// M present" when the input ends first; rpb::Error for more elements than are left or
    /// Fortran-order data.
    void read_float32(int64_t count, float* out);

    /// The whole array as read_npy gives it (Fortran order transposed), before anything
    /// else is read; memory as large as the array.
    Array read_whole();

private:
    size_t read_raw(std::byte* out, size_t size); // from the preamble's leftover, then fd_

    int fd_ = -1;
    bool own_fd_ = false;
    std::string origin_;
    DType dtype_ = DType::f32;
    bool big_endian_ = false;
    bool fortran_order_ = false;
    Shape shape_;
    int64_t count_ = 0;
    int64_t done_ = 0;              ///< elements read
    std::vector<std::byte> prefix_; ///< the bytes read to parse the preamble
    size_t prefix_pos_ = 0;         ///< the next of them not yet consumed
};

/// A whole .npy file in memory (small arrays: tables, weights, test data).
std::string npy_bytes(const FloatTensor& tensor);
std::string npy_bytes(const IntTensor& tensor);

} // namespace rpb
