#include "rpb/png.hpp"

#include "rpb/error.hpp"

#include <climits>
#include <cmath>
#include <fmt/format.h>
#include <mutex>
#include <stb_image_write.h>
#include <utility>
#include <zlib.h>

// The implementation of stb_image_write is not compiled here: Debian's libstb (pkg-config
// stb) already holds it, and a second copy would clash at link time.

namespace rpb {

void check_png_size(int64_t width, int64_t height) {
    if (width <= 0 || height <= 0) {
        throw Error(fmt::format("png size {}x{} is not accepted; both sides must be positive",
                                width, height));
    }
    // Each factor is checked first so that the product itself cannot overflow int64.
    if (width > INT_MAX / 3 || height > INT_MAX || (width * 3 + 1) * height > INT_MAX) {
        throw Error(fmt::format("image of {}x{} pixels is too large for png; (width * 3 + 1) "
                                "* height must be at most {}",
                                width, height, INT_MAX));
    }
}

namespace {

struct Sink {
    std::string bytes;
    bool failed = false;
};

// Called from C: an exception must not unwind through stb, so a failed append is recorded.
void append_bytes(void* context, void* data, int size) {
    auto* sink = static_cast<Sink*>(context);
    try {
        sink->bytes.append(static_cast<const char*>(data), static_cast<size_t>(size));
    } catch (...) {
        sink->failed = true;
    }
}

void put_u32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out += static_cast<char>((v >> shift) & 0xFF);
    }
}

// The pHYs chunk: pixels per unit in x and y, unit 1 = metre; its CRC covers type and data.
std::string phys_chunk(double dpi) {
    const auto per_metre = static_cast<uint32_t>(std::lround(dpi / 0.0254));
    std::string body = "pHYs";
    put_u32(body, per_metre);
    put_u32(body, per_metre);
    body += '\x01';
    std::string chunk;
    put_u32(chunk, 9);
    chunk += body;
    put_u32(chunk, static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(body.data()),
                                               static_cast<uInt>(body.size()))));
    return chunk;
}

} // namespace

std::string encode_png(const Image& image, double dpi) {
    check_png_size(image.width(), image.height());
    // PNG filter "none" on every row: heatmaps are flat runs of a few colours, where stb's
    // per-row filter heuristic picks worse filters and costs 3x the time (a 2453x1869 grid
    // of 12 heads: 283 -> 85 ms, 398 -> 390 KB). stb reads this process-wide setting; it is
    // written once, before any encoding, so concurrent encoders only ever read it.
    static std::once_flag no_filter;
    std::call_once(no_filter, [] { stbi_write_force_png_filter = 0; });
    Sink sink;
    const int ok = stbi_write_png_to_func(append_bytes, &sink, image.width(), image.height(), 3,
                                          image.data(), image.width() * 3);
    if (ok == 0 || sink.failed) {
        throw Error(fmt::format("could not encode the {}x{} image as png (out of memory)",
                                image.width(), image.height()));
    }
    if (dpi > 0 && std::isfinite(dpi)) {
        // After the signature (8 bytes) and IHDR (4 length + 4 type + 13 data + 4 CRC):
        // pHYs must come before the image data.
        sink.bytes.insert(33, phys_chunk(dpi));
    }
    return std::move(sink.bytes);
}

} // namespace rpb
