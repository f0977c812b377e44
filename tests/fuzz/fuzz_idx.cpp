// libFuzzer entry point for the IDX reader: any input must either parse or throw
// rpb::Error; a crash, sanitizer report, other exception or huge allocation is a bug.
// Inputs starting with 1f 8b take the gzip path; every other input is also tried
// gzip-compressed, so that the checks after inflating see the same variety of headers.
#include "rpb/error.hpp"
#include "rpb/idx.hpp"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>
#include <zlib.h>

namespace {

void parse(std::span<const std::byte> file) {
    try {
        const rpb::IdxArray array = rpb::parse_idx(file, "fuzz.idx");
        if (array.data.size() !=
            static_cast<size_t>(rpb::shape_size(array.dims)) * rpb::idx_type_size(array.type)) {
            __builtin_trap(); // the contract: data matches the sizes exactly
        }
    } catch (const rpb::Error&) {
    }
}

std::vector<std::byte> gzip(const uint8_t* data, size_t size) {
    std::vector<std::byte> out(compressBound(static_cast<uLong>(size)) + 32);
    z_stream z{};
    if (deflateInit2(&z, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        return {};
    }
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = static_cast<uInt>(size);
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(rc == Z_STREAM_END ? z.total_out : 0);
    deflateEnd(&z);
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    parse(std::span(reinterpret_cast<const std::byte*>(data), size));
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) {
        const std::vector<std::byte> compressed = gzip(data, size);
        if (!compressed.empty()) {
            parse(compressed);
        }
    }
    return 0;
}
