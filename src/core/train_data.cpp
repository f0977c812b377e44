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
