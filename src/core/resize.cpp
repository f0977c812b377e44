#include "rpb/resize.hpp"

#include "format_io.hpp"
#include "format_safetensors_header.hpp"
#include "rpb/checkpoint.hpp"
#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/swin_v2.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <nlohmann/json.hpp>

namespace rpb {

namespace {

// aten's bicubic weights (A = -0.75, align_corners=False: source x = (d + 0.5) * in / out
// - 0.5, not clamped; the four indices read are clamped to the edges), evaluated in double:
// PyTorch's float32 kernel itself is within ~2e-6 of the exact values for unit-size inputs,
// so the exact values are the closest common ground (1e-6 for tables of Swin's magnitude).
constexpr double cubic_a = -0.75;

double cubic_near(double x) {
    return ((cubic_a + 2) * x - (cubic_a + 3)) * x * x + 1;
}
double cubic_far(double x) {
    return ((cubic_a * x - 5 * cubic_a) * x + 8 * cubic_a) * x - 4 * cubic_a;
}

struct Taps {
    std::vector<int64_t> index; // 4 per output
    std::vector<double> weight;
};

Taps taps(int64_t in, int64_t out) {
    Taps t;
    const double scale = static_cast<double>(in) / static_cast<double>(out);
    for (int64_t d = 0; d < out; ++d) {
        const double src = (static_cast<double>(d) + 0.5) * scale - 0.5;
        const double f = std::floor(src);
        const double frac = src - f;
        const double w[4] = {cubic_far(frac + 1), cubic_near(frac), cubic_near(1 - frac),
                             cubic_far(2 - frac)};
        for (int64_t k = 0; k < 4; ++k) {
            t.index.push_back(std::clamp<int64_t>(static_cast<int64_t>(f) - 1 + k, 0, in - 1));
            t.weight.push_back(w[k]);
        }
    }
    return t;
}

void check_side(int64_t h, int64_t w, std::string_view what) {
    if (h < 1 || w < 1) {
        throw UsageError(fmt::format("{} {}x{}: sides must be at least 1", what, h, w));
    }
}

void store_int(std::byte* out, DType dtype, int64_t value) {
    auto put = [&](auto v) { std::memcpy(out, &v, sizeof v); };
    switch (dtype) {
    case DType::i64:
        put(value);
        break;
    case DType::i32:
        put(static_cast<int32_t>(value));
        break;
    case DType::i16:
        put(static_cast<int16_t>(value));
        break;
    case DType::i8:
        put(static_cast<int8_t>(value));
        break;
    case DType::u8:
        put(static_cast<uint8_t>(value));
        break;
    case DType::f32:
        put(static_cast<float>(value));
        break;
    case DType::f64:
        put(static_cast<double>(value));
        break;
    default:
        throw Error(fmt::format("cannot write an index buffer as {}", dtype_name(dtype)));
    }
}

struct Replacement {
    Shape shape;
    std::vector<std::byte> bytes;
    DType dtype = DType::f32;
};

std::vector<std::byte> float_bytes(const FloatTensor& t) {
    std::vector<std::byte> b(static_cast<size_t>(t.size()) * sizeof(float));
    std::memcpy(b.data(), t.data(), b.size());
    return b;
}

} // namespace

FloatTensor bicubic_resize(const FloatTensor& planes, int64_t out_h, int64_t out_w) {
    check_side(out_h, out_w, "resize to");
    if (planes.rank() != 3 || planes.size() == 0) {
        throw Error(fmt::format("bicubic resize of shape {}: expected (C, H, W)",
                                shape_string(planes.shape())));
    }
    const int64_t c = planes.dim(0);
    const int64_t in_h = planes.dim(1);
    const int64_t in_w = planes.dim(2);
    const Taps ty = taps(in_h, out_h);
    const Taps tx = taps(in_w, out_w);
    FloatTensor out({c, out_h, out_w});
    for (int64_t p = 0; p < c; ++p) {
        const float* src = planes.data() + p * in_h * in_w;
        for (int64_t y = 0; y < out_h; ++y) {
            for (int64_t x = 0; x < out_w; ++x) {
                double acc = 0;
                for (int64_t i = 0; i < 4; ++i) {
                    const float* line = src + ty.index[y * 4 + i] * in_w;
                    double row = 0;
                    for (int64_t j = 0; j < 4; ++j) {
                        row += tx.weight[x * 4 + j] * line[tx.index[x * 4 + j]];
                    }
                    acc += ty.weight[y * 4 + i] * row;
                }
                out[(p * out_h + y) * out_w + x] = static_cast<float>(acc);
            }
        }
    }
    return out;
}

FloatTensor resize_table(const FloatTensor& table, const Scheme& from, int64_t to_h, int64_t to_w) {
    if (from.type != SchemeType::window2d) {
        throw UsageError("only 2d window tables can be resized");
    }
    check_side(to_h, to_w, "--to");
    if (table.rank() != 2 || table.dim(0) != from.num_entries()) {
        throw Error(fmt::format("table has shape {}, expected ({}, heads) for {}",
                                shape_string(table.shape()), from.num_entries(), from.describe()));
    }
    const int64_t heads = table.dim(1);
    const int64_t rows = 2 * from.window_h - 1;
    const int64_t cols = 2 * from.window_w - 1;
    FloatTensor planes({heads, rows, cols});
    for (int64_t e = 0; e < rows * cols; ++e) {
        for (int64_t h = 0; h < heads; ++h) {
            planes[h * rows * cols + e] = table.at(e, h);
        }
    }
    const int64_t new_rows = 2 * to_h - 1;
    const int64_t new_cols = 2 * to_w - 1;
    const FloatTensor resized = bicubic_resize(planes, new_rows, new_cols);
    const int64_t spatial = new_rows * new_cols;
    const int64_t extra = from.cls_token ? 3 : 0;
    FloatTensor out({spatial + extra, heads});
    for (int64_t e = 0; e < spatial; ++e) {
        for (int64_t h = 0; h < heads; ++h) {
            out.at(e, h) = resized[h * spatial + e];
        }
    }
    for (int64_t k = 0; k < extra; ++k) {
        for (int64_t h = 0; h < heads; ++h) {
            out.at(spatial + k, h) = table.at(rows * cols + k, h);
        }
    }
    return out;
}

std::vector<ResizedTensor>
resize_checkpoint(const SafetensorsFile& file, int64_t to_h, int64_t to_w,
                  const std::function<void(const void*, size_t)>& write) {
    check_side(to_h, to_w, "--to");
    std::map<std::string, Replacement> replace;
    std::vector<ResizedTensor> changes;
    auto new_index = [&](const std::string& name, const Scheme& to) {
        const auto& entry = *file.find(name);
        // (N*N,) entries: bounded so that the buffer stays a sane size (Swin V2 goes to 24x24).
        constexpr int64_t max_tokens = 4096;
        if (to.num_queries() > max_tokens) {
            throw UsageError(fmt::format("--to {}x{}: the index buffer {} would hold {}^2 "
                                         "entries; at most {} tokens per window",
                                         to_h, to_w, detail::printable(name, 200), to.num_queries(),
                                         max_tokens));
        }
        const IntTensor map = index_map(to);
        Replacement r;
        r.dtype = entry.dtype;
        r.shape = entry.shape.size() == 1 ? Shape{map.size()} : Shape{map.dim(0), map.dim(1)};
        const size_t item = dtype_size(entry.dtype);
        r.bytes.resize(static_cast<size_t>(map.size()) * item);
        for (int64_t i = 0; i < map.size(); ++i) {
            store_int(r.bytes.data() + i * item, entry.dtype, map[i]);
        }
        replace[name] = std::move(r);
    };
    for (const CheckpointBias& b : find_biases(file)) {
        if (!b.resolved) {
            if (b.name.ends_with("relative_attention_bias.weight")) {
                continue;
            }
            throw Error(fmt::format("{}: {}: the window is unknown ({}); resize its table "
                                    "alone with --table FILE:NAME --window HxW",
                                    file.origin(), detail::printable(b.name, 200), b.note));
        }
        if (b.scheme.type != SchemeType::window2d) {
            continue;
        }
        Scheme to = b.scheme;
        to.window_h = to_h;
        to.window_w = to_w;
        const std::string from_text = fmt::format("{}x{}", b.scheme.window_h, b.scheme.window_w);
        const std::string to_text = fmt::format("{}x{}", to_h, to_w);
        const std::string dir = b.kind == BiasKind::cpb
                                    ? b.name.substr(0, b.name.size() - 16) // cpb_mlp.0.weight
                                    : b.name.substr(0, b.name.rfind('.') + 1);
        if (b.kind == BiasKind::table) {
            const FloatTensor table = file.read_float32(*file.find(b.name));
            const FloatTensor resized = resize_table(table, b.scheme, to_h, to_w);
            Replacement r;
            r.shape = resized.shape();
            r.bytes = float_bytes(resized);
            if (file.find(b.name)->dtype != DType::f32) {
                throw Error(fmt::format("{}: {} is {}: only float32 tables are resized",
                                        file.origin(), detail::printable(b.name, 200),
                                        dtype_name(file.find(b.name)->dtype)));
            }
            replace[b.name] = std::move(r);
            changes.push_back({b.name, fmt::format("table {} -> {}", from_text, to_text)});
        } else if (const auto* coords = file.find(dir + "relative_coords_table")) {
            const FloatTensor c = cpb_coords(to_h, to_w);
            Replacement r;
            r.shape = coords->shape.size() == 4 ? Shape{1, c.dim(0), c.dim(1), 2} : c.shape();
            r.bytes = float_bytes(c);
            replace[coords->name] = std::move(r);
            changes.push_back({coords->name, fmt::format("coords {} -> {}", from_text, to_text)});
        }
        if (!b.index_name.empty()) {
            new_index(b.index_name, to);
            changes.push_back({b.index_name, fmt::format("index {} -> {}", from_text, to_text)});
        }
    }
    if (changes.empty()) {
        throw Error(fmt::format("{}: no 2d window table to resize (inspect lists its biases)",
                                file.origin()));
    }

    // The new header: tensors in their data order, metadata first as the reference writes.
    std::vector<const SafetensorsFile::Entry*> order;
    for (const auto& e : file.entries()) {
        order.push_back(&e);
    }
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    if (!file.metadata().empty()) {
        header["__metadata__"] = file.metadata();
    }
    uint64_t offset = 0;
    for (const auto* e : order) {
        auto it = replace.find(e->name);
        const Shape& shape = it == replace.end() ? e->shape : it->second.shape;
        const uint64_t size = it == replace.end() ? e->end - e->begin : it->second.bytes.size();
        header[e->name] = {{"dtype", detail::safetensors_dtype_name(e->dtype)},
                           {"shape", shape},
                           {"data_offsets", {offset, offset + size}}};
        offset += size;
    }
    std::string text = header.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    text.append((8 - text.size() % 8) % 8, ' ');
    unsigned char size_bytes[8];
    for (size_t i = 0; i < 8; ++i) {
        size_bytes[i] =
            static_cast<unsigned char>((static_cast<uint64_t>(text.size()) >> (8 * i)) & 0xff);
    }
    write(size_bytes, 8);
    write(text.data(), text.size());
    for (const auto* e : order) {
        auto it = replace.find(e->name);
        if (it == replace.end()) {
            const auto bytes = file.bytes(*e);
            write(bytes.data(), bytes.size());
        } else {
            write(it->second.bytes.data(), it->second.bytes.size());
        }
    }
    return changes;
}

} // namespace rpb
