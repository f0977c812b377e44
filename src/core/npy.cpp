#include "rpb/npy.hpp"

#include "format_io.hpp"
#include "format_npy_header.hpp"
#include "rpb/error.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rpb {

namespace {

constexpr std::string_view npy_magic = "\x93NUMPY";
// numpy refuses longer headers unless allow_pickle is given (literal_eval is not safe on
// large inputs); a header this long is never written for a plain array.
constexpr uint64_t max_header_length = detail::kNpyMaxPreamble - 12;
// numpy leaves room for the growth axis to reach this many digits, so that a header can
// be rewritten in place when data is appended (len(str(8 * 2**64 - 1))).
constexpr size_t growth_axis_max_digits = 21;
constexpr size_t array_align = 64;

struct NpyType {
    DType dtype;
    bool big_endian;
};

NpyType npy_type(const std::string& descr, std::string_view origin) {
    std::string_view code = descr;
    char order = '=';
    if (!code.empty() && std::string_view("<>|=").find(code[0]) != std::string_view::npos) {
        order = code[0];
        code.remove_prefix(1);
    }
    if (!code.empty() && code[0] == 'O') {
        throw Error(fmt::format("{}: .npy dtype '{}' holds python objects, refused (pickled "
                                "data is never loaded)",
                                origin, detail::printable(descr)));
    }
    static constexpr std::array<std::pair<std::string_view, DType>, 9> codes = {{
        {"f2", DType::f16},
        {"f4", DType::f32},
        {"f8", DType::f64},
        {"i1", DType::i8},
        {"i2", DType::i16},
        {"i4", DType::i32},
        {"i8", DType::i64},
        {"u1", DType::u8},
        {"b1", DType::boolean},
    }};
    for (const auto& [name, dtype] : codes) {
        if (code == name) {
            return {dtype, order == '>' && dtype_size(dtype) > 1};
        }
    }
    throw Error(fmt::format("{}: unsupported .npy dtype '{}' (accepted: f2, f4, f8, i1, i2, i4, "
                            "i8, u1, b1; little- or big-endian)",
                            origin, detail::printable(descr)));
}

// Reorders a Fortran-order (first index fastest) buffer into C order.
std::vector<std::byte> fortran_to_c(std::span<const std::byte> data, const Shape& shape,
                                    size_t itemsize, int64_t count) {
    std::vector<std::byte> out(data.size());
    const size_t rank = shape.size();
    std::vector<int64_t> stride(rank), index(rank, 0);
    int64_t step = 1;
    for (size_t k = 0; k < rank; ++k) {
        stride[k] = step;
        step *= shape[k];
    }
    int64_t source = 0;
    for (int64_t i = 0; i < count; ++i) {
        std::memcpy(out.data() + static_cast<size_t>(i) * itemsize,
                    data.data() + static_cast<size_t>(source) * itemsize, itemsize);
        // Advance the C-order odometer (last index fastest), tracking the Fortran offset.
        for (size_t k = rank; k-- > 0;) {
            if (++index[k] < shape[k]) {
                source += stride[k];
                break;
            }
            source -= stride[k] * (shape[k] - 1);
            index[k] = 0;
        }
    }
    return out;
}

std::string wrap_header(std::string dict) {
    // Version 1.0 stores the length in 2 bytes; numpy moves to 2.0 when it does not fit.
    const size_t fixed = npy_magic.size() + 2;
    std::string_view version = "\x01\x00";
    size_t length_bytes = 2;
    size_t hlen = dict.size() + 1;
    size_t total = fixed + length_bytes + hlen;
    total += array_align - total % array_align;
    if (total - fixed - length_bytes > 65535) {
        version = std::string_view("\x02\x00", 2);
        length_bytes = 4;
        total = fixed + length_bytes + hlen;
        total += array_align - total % array_align;
    }
    hlen = total - fixed - length_bytes;
    std::string out(npy_magic);
    out.append(version.data(), 2);
    for (size_t b = 0; b < length_bytes; ++b) {
        out += static_cast<char>((hlen >> (8 * b)) & 0xff);
    }
    out += dict;
    out.append(total - out.size() - 1, ' ');
    out += '\n';
    return out;
}

} // namespace

std::string npy_header(std::string_view descr, const Shape& shape) {
    std::string dict = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                                   descr, shape_string(shape));
    if (!shape.empty()) {
        const size_t digits = fmt::formatted_size("{}", shape[0]);
        dict.append(growth_axis_max_digits - std::min(digits, growth_axis_max_digits), ' ');
    }
    return wrap_header(std::move(dict));
}

namespace detail {

NpyLayout parse_npy_layout(std::span<const std::byte> prefix, uint64_t file_size,
                           std::string_view origin) {
    const auto* bytes = reinterpret_cast<const char*>(prefix.data());
    const size_t have = prefix.size();
    if (std::string_view(bytes, std::min(have, npy_magic.size())) !=
            npy_magic.substr(0, std::min(have, npy_magic.size())) ||
        file_size == 0) {
        throw Error(fmt::format("{}: not a .npy file (no \\x93NUMPY magic string)", origin));
    }
    if (file_size < 8) {
        throw Error(fmt::format("{}: truncated .npy preamble: {} bytes", origin, file_size));
    }
    const auto major = static_cast<unsigned>(prefix[6]);
    const auto minor = static_cast<unsigned>(prefix[7]);
    if (major < 1 || major > 3 || minor != 0) {
        throw Error(fmt::format("{}: unsupported .npy format version {}.{} (accepted: 1.0, 2.0, "
                                "3.0)",
                                origin, major, minor));
    }
    const size_t length_bytes = major == 1 ? 2 : 4;
    const size_t header_start = 8 + length_bytes;
    if (file_size < header_start) {
        throw Error(fmt::format("{}: truncated .npy preamble: {} bytes", origin, file_size));
    }
    const uint64_t header_length = load_le(prefix.data() + 8, length_bytes);
    if (header_length > max_header_length) {
        throw Error(fmt::format("{}: .npy header length {} exceeds the limit of {} bytes", origin,
                                header_length, max_header_length));
    }
    if (file_size - header_start < header_length) {
        throw Error(fmt::format("{}: truncated .npy header: {} bytes declared, {} present", origin,
                                header_length, file_size - header_start));
    }
    if (have < header_start + header_length) {
        throw Error(fmt::format("{}: .npy header not read in full", origin));
    }
    const NpyHeader header =
        parse_npy_header(std::string_view(bytes + header_start, header_length), origin);
    const NpyType type = npy_type(header.descr, origin);

    NpyLayout layout;
    layout.dtype = type.dtype;
    layout.big_endian = type.big_endian;
    layout.fortran_order = header.fortran_order && header.shape.size() > 1;
    layout.shape = header.shape;
    const size_t itemsize = dtype_size(type.dtype);
    try {
        layout.count = shape_size(header.shape, INT64_MAX / static_cast<int64_t>(itemsize));
    } catch (const Error& e) {
        throw Error(fmt::format("{}: {}", origin, e.what()));
    }
    const auto needed = static_cast<uint64_t>(layout.count) * itemsize;
    layout.data_start = header_start + header_length;
    // Trailing bytes are tolerated, as numpy does: np.load reads exactly the array and
    // several arrays may be saved one after another into one file.
    if (file_size - layout.data_start < needed) {
        throw Error(fmt::format("{}: truncated .npy data: shape {} of {} needs {} bytes, {} "
                                "present",
                                origin, shape_string(header.shape), dtype_name(type.dtype), needed,
                                file_size - layout.data_start));
    }
    return layout;
}

} // namespace detail

namespace {

void swap_byte_order(std::byte* data, size_t size, size_t itemsize) {
    for (size_t i = 0; i < size; i += itemsize) {
        std::reverse(data + i, data + i + itemsize);
    }
}

} // namespace

Array parse_npy(std::span<const std::byte> file, std::string_view origin) {
    const detail::NpyLayout layout = detail::parse_npy_layout(file, file.size(), origin);
    const size_t itemsize = dtype_size(layout.dtype);
    const auto data = file.subspan(layout.data_start, static_cast<size_t>(layout.count) * itemsize);

    Array array;
    array.dtype = layout.dtype;
    array.shape = layout.shape;
    if (layout.fortran_order) {
        array.bytes = fortran_to_c(data, layout.shape, itemsize, layout.count);
    } else {
        array.bytes.assign(data.begin(), data.end());
    }
    if (layout.big_endian) {
        swap_byte_order(array.bytes.data(), array.bytes.size(), itemsize);
    }
    return array;
}

Array read_npy(const std::string& path) {
    const detail::FileBytes file = detail::read_whole_file(path);
    return parse_npy(file.bytes, file.origin);
}

namespace {

// pread until `size` bytes are in or the file ends; returns the bytes read.
size_t read_at(int fd, std::byte* out, size_t size, uint64_t offset, const std::string& path) {
    size_t done = 0;
    while (done < size) {
        const ssize_t got = ::pread(fd, out + done, size - done, static_cast<off_t>(offset + done));
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(fmt::format("{}: cannot read: {}", path, detail::errno_text(errno)));
        }
        if (got == 0) {
            break;
        }
        done += static_cast<size_t>(got);
    }
    return done;
}

} // namespace

std::unique_ptr<NpyFileReader> NpyFileReader::open(const std::string& path) {
    if (path == "-") {
        return nullptr;
    }
    std::unique_ptr<NpyFileReader> reader(new NpyFileReader());
    reader->path_ = path;
    reader->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (reader->fd_ < 0) {
        throw Error(fmt::format("{}: cannot open: {}", path, detail::errno_text(errno)));
    }
    struct stat info {};
    if (::fstat(reader->fd_, &info) != 0 || !S_ISREG(info.st_mode)) {
        return nullptr;
    }
    const auto file_size = static_cast<uint64_t>(info.st_size);
    std::vector<std::byte> prefix(
        static_cast<size_t>(std::min<uint64_t>(file_size, detail::kNpyMaxPreamble)));
    prefix.resize(read_at(reader->fd_, prefix.data(), prefix.size(), 0, path));
    const detail::NpyLayout layout = detail::parse_npy_layout(prefix, file_size, path);
    if (layout.fortran_order) {
        return nullptr;
    }
    reader->dtype_ = layout.dtype;
    reader->big_endian_ = layout.big_endian;
    reader->shape_ = layout.shape;
    reader->count_ = layout.count;
    reader->data_start_ = layout.data_start;
    return reader;
}

NpyFileReader::~NpyFileReader() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

void NpyFileReader::read_float32(int64_t first, int64_t count, float* out,
                                 std::string_view what) const {
    if (first < 0 || count < 0 || first > count_ || count > count_ - first) {
        throw Error(fmt::format("{}: elements [{}, {}) are outside the {} of the array", what,
                                first, first + count, count_));
    }
    const size_t itemsize = dtype_size(dtype_);
    const size_t size = static_cast<size_t>(count) * itemsize;
    // Little-endian float32 lands in `out` directly; anything else goes through scratch.
    const bool direct = dtype_ == DType::f32 && !big_endian_;
    std::byte* raw = reinterpret_cast<std::byte*>(out);
    std::vector<std::byte> scratch;
    if (!direct) {
        scratch.resize(size);
        raw = scratch.data();
    }
    const uint64_t offset = data_start_ + static_cast<uint64_t>(first) * itemsize;
    if (read_at(fd_, raw, size, offset, path_) != size) {
        throw Error(fmt::format("{}: the file became shorter while it was read", path_));
    }
    if (big_endian_) {
        swap_byte_order(raw, size, itemsize);
    }
    convert_to_float32(raw, dtype_, count, out, shape_, first, what);
}

namespace {

template <typename T>
std::string npy_bytes_of(std::string_view descr, const Tensor<T>& tensor) {
    std::string out = npy_header(descr, tensor.shape());
    const auto* data = reinterpret_cast<const char*>(tensor.data());
    out.append(data, static_cast<size_t>(tensor.size()) * sizeof(T));
    return out;
}

} // namespace

std::string npy_bytes(const FloatTensor& tensor) {
    return npy_bytes_of("<f4", tensor);
}

std::string npy_bytes(const IntTensor& tensor) {
    return npy_bytes_of("<i4", tensor);
}

} // namespace rpb
