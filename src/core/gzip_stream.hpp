// Private helper: a gzip file held in memory, inflated on demand into the caller's buffers
// (idx.cpp reads an IDX header first and sizes the data buffer from it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

struct z_stream_s;

namespace rpb::detail {

/// True when `bytes` starts with the gzip magic 1f 8b.
bool is_gzip(std::span<const std::byte> bytes);

class GzipReader {
public:
    /// `compressed` must outlive the reader; `origin` names the file in messages.
    GzipReader(std::span<const std::byte> compressed, std::string_view origin);
    ~GzipReader();
    GzipReader(const GzipReader&) = delete;
    GzipReader& operator=(const GzipReader&) = delete;

    /// Inflates up to `size` bytes into `out` and returns how many were written: fewer
    /// than `size` only once the last member has ended with its checksum verified.
    /// Members back to back are one stream. Throws rpb::Error "<origin>: corrupt gzip
    /// stream: <zlib's reason>", "<origin>: truncated gzip stream" or "<origin>: trailing
    /// data after the gzip stream (3 bytes, not a gzip member)".
    size_t read(std::byte* out, size_t size);

    /// An upper bound on what the unread input can still inflate to (deflate's best ratio
    /// is 1032:1), to size buffers without trusting a header.
    uint64_t max_remaining_output() const;

private:
    struct Free {
        void operator()(z_stream_s* stream) const;
    };
    std::unique_ptr<z_stream_s, Free> stream_;
    std::span<const std::byte> input_;
    size_t position_ = 0; ///< input bytes consumed by zlib
    bool member_ended_ = false;
    bool finished_ = false;
    std::string origin_;
};

} // namespace rpb::detail
