// NpyStream: a .npy array read front to back from a file or a pipe (npy.hpp).
#include "format_io.hpp"
#include "format_npy_header.hpp"
#include "rpb/error.hpp"
#include "rpb/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rpb {

namespace {

// read() until `size` bytes are in or the input ends; returns the bytes read.
size_t read_fd(int fd, std::byte* out, size_t size, const std::string& origin) {
    size_t done = 0;
    while (done < size) {
        const ssize_t got = ::read(fd, out + done, size - done);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw Error(fmt::format("{}: cannot read: {}", origin, detail::errno_text(errno)));
        }
        if (got == 0) {
            break;
        }
        done += static_cast<size_t>(got);
    }
    return done;
}

} // namespace

NpyStream::NpyStream(const std::string& path) {
    if (path == "-") {
        fd_ = STDIN_FILENO;
        origin_ = "standard input";
    } else {
        origin_ = path;
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) {
            throw Error(fmt::format("{}: cannot open: {}", path, detail::errno_text(errno)));
        }
        own_fd_ = true;
    }
    // The size, when known: a regular file's, or an input that ends within the preamble
    // buffer. Otherwise "unlimited": the body is checked as it is read.
    uint64_t size = UINT64_MAX;
    struct stat info {};
    if (::fstat(fd_, &info) == 0 && S_ISREG(info.st_mode)) {
        const off_t at = ::lseek(fd_, 0, SEEK_CUR); // standard input may be a file read partly
        size = static_cast<uint64_t>(info.st_size - std::max<off_t>(at, 0));
    }
    prefix_.resize(detail::kNpyMaxPreamble);
    prefix_.resize(read_fd(fd_, prefix_.data(), prefix_.size(), origin_));
    if (prefix_.size() < detail::kNpyMaxPreamble) {
        size = prefix_.size();
    }
    const detail::NpyLayout layout = detail::parse_npy_layout(prefix_, size, origin_);
    dtype_ = layout.dtype;
    big_endian_ = layout.big_endian;
    fortran_order_ = layout.fortran_order;
    shape_ = layout.shape;
    count_ = layout.count;
    prefix_pos_ = static_cast<size_t>(layout.data_start);
}

NpyStream::~NpyStream() {
    if (own_fd_) {
        ::close(fd_);
    }
}

size_t NpyStream::read_raw(std::byte* out, size_t size) {
    const size_t from_prefix = std::min(size, prefix_.size() - prefix_pos_);
    std::memcpy(out, prefix_.data() + prefix_pos_, from_prefix);
    prefix_pos_ += from_prefix;
    return from_prefix + read_fd(fd_, out + from_prefix, size - from_prefix, origin_);
}

void NpyStream::read_float32(int64_t count, float* out) {
    if (fortran_order_) {
        throw Error(fmt::format("{}: Fortran-order data cannot be read by rows", origin_));
    }
    if (count < 0 || count > count_ - done_) {
        throw Error(fmt::format("{}: {} more elements asked, {} of {} are left", origin_, count,
                                count_ - done_, count_));
    }
    const size_t itemsize = dtype_size(dtype_);
    const size_t size = static_cast<size_t>(count) * itemsize;
    // Little-endian float32 lands in `out` directly; anything else goes through scratch.
    std::byte* raw = reinterpret_cast<std::byte*>(out);
    std::vector<std::byte> scratch;
    if (dtype_ != DType::f32 || big_endian_) {
        scratch.resize(size);
        raw = scratch.data();
    }
    const size_t got = read_raw(raw, size);
    if (got != size) {
        throw Error(fmt::format("{}: truncated .npy data: shape {} of {} needs {} bytes, {} "
                                "present",
                                origin_, shape_string(shape_), dtype_name(dtype_),
                                static_cast<uint64_t>(count_) * itemsize,
                                static_cast<uint64_t>(done_) * itemsize + got));
    }
    if (big_endian_) {
        for (size_t i = 0; i < size; i += itemsize) {
            std::reverse(raw + i, raw + i + itemsize);
        }
    }
    convert_to_float32(raw, dtype_, count, out, shape_, done_, origin_);
    done_ += count;
}

Array NpyStream::read_whole() {
    if (done_ != 0) {
        throw Error(fmt::format("{}: read_whole after {} elements were read", origin_, done_));
    }
    // The preamble, then the rest in steps that grow with what arrived (never an up-front
    // allocation of the declared size: a short pipe stays small).
    std::vector<std::byte> bytes(prefix_.begin(), prefix_.end());
    prefix_pos_ = prefix_.size();
    for (size_t step = size_t{1} << 20;; step = std::min(step * 2, size_t{1} << 28)) {
        const size_t at = bytes.size();
        bytes.resize(at + step);
        const size_t got = read_fd(fd_, bytes.data() + at, step, origin_);
        bytes.resize(at + got);
        if (got < step) {
            break;
        }
    }
    done_ = count_;
    return parse_npy(bytes, origin_);
}

} // namespace rpb
