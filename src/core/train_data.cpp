// The training data pipeline: epoch order, augmentation, normalisation statistics. All random
// choices are counter-based (random.hpp), so any image of any epoch is drawn the same way on
// every machine and thread count, and a resumed run sees the same batches.
#include "rpb/random.hpp"
#include "rpb/train.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace rpb {

namespace {

constexpr uint64_t kShuffleStream = 4;
constexpr uint64_t kAugmentStream = 5;
constexpr uint64_t kEraseStream = 6;

// torchvision RandomErasing's defaults.
constexpr double kEraseScaleLow = 0.02, kEraseScaleHigh = 0.33;
constexpr float kEraseRatioLow = 0.3f, kEraseRatioHigh = 3.3f;
constexpr int kEraseAttempts = 10;
// Counters per image on the erasing stream: 1 for p, 4 per attempt (scale, ratio, row, column).
constexpr uint64_t kEraseCountersPerImage = 64;

// torch's uniform_(low, high) on a float32 tensor: the 24-bit unit value scaled in double,
// stored as float32.
float torch_uniform(uint64_t bits, double low, double high) {
    return static_cast<float>(static_cast<double>(uniform_float(bits)) * (high - low) + low);
}

} // namespace

std::vector<int64_t> epoch_order(uint64_t seed, int64_t epoch, int64_t count, bool shuffle) {
    std::vector<int64_t> order(static_cast<size_t>(count));
    std::iota(order.begin(), order.end(), int64_t{0});
    if (!shuffle) {
        return order;
    }
    const uint64_t key = random_key(seed, kShuffleStream);
    const auto base = static_cast<uint64_t>(epoch) * static_cast<uint64_t>(count);
    for (int64_t i = count - 1; i > 0; --i) {
        const uint64_t bits = random_bits(key, base + static_cast<uint64_t>(i));
        const auto j = static_cast<int64_t>(bits % static_cast<uint64_t>(i + 1));
        std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
    return order;
}

Augmentation draw_augmentation(uint64_t seed, int64_t epoch, int64_t position, bool crop,
                               bool flip) {
    Augmentation a;
    // One 64-bit value per (epoch, position): the counter space of an epoch is 2^32 images.
    const uint64_t bits =
        random_bits(random_key(seed, kAugmentStream),
                    (static_cast<uint64_t>(epoch) << 32) + static_cast<uint64_t>(position));
    if (crop) {
        a.dy = static_cast<int>((bits & 0xffffff) % 5);
        a.dx = static_cast<int>(((bits >> 24) & 0xffffff) % 5);
    }
    a.flip = flip && ((bits >> 63) != 0);
    return a;
}

std::pair<int, int> erase_box_size(float scale, float log_ratio, int64_t height, int64_t width) {
    const double erase_area = static_cast<double>(height * width) * static_cast<double>(scale);
    const auto aspect_ratio = static_cast<double>(std::exp(log_ratio)); // torch.exp in float32
    // Python's round(): half to even, which std::nearbyint does in the default rounding mode.
    const auto h = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area * aspect_ratio)));
    const auto w = static_cast<int64_t>(std::nearbyint(std::sqrt(erase_area / aspect_ratio)));
    if (!(h < height && w < width)) {
        return {0, 0};
    }
    return {static_cast<int>(h), static_cast<int>(w)};
}

EraseBox draw_erasing(uint64_t seed, int64_t epoch, int64_t position, double probability,
                      int64_t height, int64_t width) {
    const uint64_t key = random_key(seed, kEraseStream);
    const uint64_t base = ((static_cast<uint64_t>(epoch) << 32) + static_cast<uint64_t>(position)) *
                          kEraseCountersPerImage;
    // torch.rand(1) < p, compared in float32.
    if (!(uniform_float(random_bits(key, base)) < static_cast<float>(probability))) {
        return {};
    }
    // torch.log(torch.tensor(ratio)): float32 logarithms of the float32 bounds.
    const float log_low = std::log(kEraseRatioLow);
    const float log_high = std::log(kEraseRatioHigh);
    for (int attempt = 0; attempt < kEraseAttempts; ++attempt) {
        const uint64_t c = base + 1 + 4 * static_cast<uint64_t>(attempt);
        const float scale = torch_uniform(random_bits(key, c), kEraseScaleLow, kEraseScaleHigh);
        const float log_ratio = torch_uniform(random_bits(key, c + 1), log_low, log_high);
        const auto [h, w] = erase_box_size(scale, log_ratio, height, width);
        if (h == 0) {
            continue;
        }
        EraseBox box;
        box.h = h;
        box.w = w;
        box.y = static_cast<int>(random_bits(key, c + 2) % static_cast<uint64_t>(height - h + 1));
        box.x = static_cast<int>(random_bits(key, c + 3) % static_cast<uint64_t>(width - w + 1));
        return box;
    }
    return {};
}

void augment_image(const uint8_t* src, uint8_t* dst, int64_t height, int64_t width,
                   const Augmentation& a) {
    for (int64_t y = 0; y < height; ++y) {
        const int64_t sy = y + a.dy - 2;
        for (int64_t x = 0; x < width; ++x) {
            const int64_t ox = a.flip ? width - 1 - x : x;
            const int64_t sx = x + a.dx - 2;
            const bool inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
            dst[y * width + ox] = inside ? src[sy * width + sx] : uint8_t{0};
        }
    }
    // Erasing comes after crop and flip, as RandomErasing follows ToTensor in torchvision.
    for (int y = a.erase.y; y < a.erase.y + a.erase.h; ++y) {
        std::fill_n(dst + y * width + a.erase.x, a.erase.w, uint8_t{0});
    }
}

void pixel_statistics(const ImageSet& set, float* mean, float* std) {
    const auto n = static_cast<double>(set.pixels.size());
    // Exact integer sums: the mean and variance of u8 / 255 follow without rounding drift.
    uint64_t sum = 0;
    uint64_t sum_sq = 0;
    for (uint8_t p : set.pixels) {
        sum += p;
        sum_sq += static_cast<uint64_t>(p) * p;
    }
    const double m = static_cast<double>(sum) / n;
    const double var = static_cast<double>(sum_sq) / n - m * m;
    *mean = static_cast<float>(m / 255.0);
    const double sd = std::sqrt(std::max(var, 0.0)) / 255.0;
    *std = sd > 0.0 ? static_cast<float>(sd) : 1.0f; // a blank set: normalise by 1
}

} // namespace rpb
