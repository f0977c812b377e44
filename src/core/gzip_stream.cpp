#include "gzip_stream.hpp"

#include "rpb/error.hpp"

#include <algorithm>
#include <climits>
#include <fmt/format.h>
#include <zlib.h>

namespace rpb::detail {

namespace {

// windowBits 15 + 16: gzip wrapper only (a zlib or raw deflate stream is refused, as
// gzip -d refuses it), with the CRC-32 and length of each member checked by zlib.
constexpr int gzip_window_bits = 15 + 16;
// zlib's z_stream counts in uInt: feed at most this much per call.
constexpr size_t max_step = size_t{1} << 30;
// zlib FAQ: deflate's limit is 1032:1; the slack covers a member's header and the
// bytes inflate holds back in its window between calls.
constexpr uint64_t max_ratio = 1032;
constexpr uint64_t ratio_slack = 64 * 1024;

} // namespace

bool is_gzip(std::span<const std::byte> bytes) {
    return bytes.size() >= 2 && bytes[0] == std::byte{0x1f} && bytes[1] == std::byte{0x8b};
}

void GzipReader::Free::operator()(z_stream_s* stream) const {
    inflateEnd(stream);
    delete stream;
}

GzipReader::GzipReader(std::span<const std::byte> compressed, std::string_view origin)
    : input_(compressed), origin_(origin) {
    auto* stream = new z_stream_s{};
    if (inflateInit2(stream, gzip_window_bits) != Z_OK) {
        delete stream;
        throw Error(fmt::format("{}: cannot start inflating: out of memory", origin_));
    }
    stream_.reset(stream);
}

GzipReader::~GzipReader() = default;

size_t GzipReader::read(std::byte* out, size_t size) {
    z_stream_s& z = *stream_;
    size_t done = 0;
    while (done < size && !finished_) {
        if (member_ended_) {
            const auto rest = input_.subspan(position_);
            if (rest.empty()) {
                finished_ = true;
                break;
            }
            // gzip -d reads members back to back as one file; anything else after the
            // end is refused rather than silently ignored.
            if (!is_gzip(rest)) {
                throw Error(fmt::format("{}: trailing data after the gzip stream ({} byte{}, "
                                        "not a gzip member)",
                                        origin_, rest.size(), rest.size() == 1 ? "" : "s"));
            }
            inflateReset(&z);
            member_ended_ = false;
        }
        z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(input_.data() + position_));
        z.avail_in = static_cast<uInt>(std::min(input_.size() - position_, max_step));
        z.next_out = reinterpret_cast<Bytef*>(out + done);
        z.avail_out = static_cast<uInt>(std::min(size - done, max_step));
        const uInt in_before = z.avail_in;
        const uInt out_before = z.avail_out;
        const int rc = inflate(&z, Z_NO_FLUSH);
        position_ += in_before - z.avail_in;
        done += out_before - z.avail_out;
        switch (rc) {
        case Z_OK:
            break;
        case Z_STREAM_END:
            member_ended_ = true;
            break;
        case Z_BUF_ERROR:
            // No progress with room to write: the input ran out inside a member.
            throw Error(fmt::format("{}: truncated gzip stream", origin_));
        case Z_NEED_DICT:
            throw Error(fmt::format("{}: corrupt gzip stream: needs a preset dictionary", origin_));
        case Z_MEM_ERROR:
            throw Error(fmt::format("{}: cannot inflate: out of memory", origin_));
        default:
            throw Error(fmt::format("{}: corrupt gzip stream: {}", origin_,
                                    z.msg != nullptr ? z.msg : "inflate failed"));
        }
    }
    return done;
}

uint64_t GzipReader::max_remaining_output() const {
    return static_cast<uint64_t>(input_.size() - position_) * max_ratio + ratio_slack;
}

} // namespace rpb::detail
