#include "rpb/random.hpp"

#include "rpb/error.hpp"
#include "rpb/worker_thread.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <numbers>

namespace rpb {
namespace {

constexpr uint64_t gamma = 0x9e3779b97f4a7c15ULL;
constexpr double two_pow_minus_53 = 1.0 / 9007199254740992.0;

double unit_double(uint64_t bits) {
    return static_cast<double>(bits >> 11) * two_pow_minus_53;
}

// (0, 1]: never 0, so log(u1) is finite.
double unit_double_open_below(uint64_t bits) {
    return static_cast<double>((bits >> 11) + 1) * two_pow_minus_53;
}

double box_muller(uint64_t key, uint64_t counter) {
    const double u1 = unit_double_open_below(random_bits(key, counter));
    const double u2 = unit_double(random_bits(key, counter + 1));
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

void check_arguments(int64_t count, float std) {
    if (count < 0) {
        throw UsageError(fmt::format("invalid random value count {}: expected >= 0", count));
    }
    if (!std::isfinite(std) || std < 0.0F) {
        throw UsageError(
            fmt::format("invalid standard deviation {}: expected a finite number >= 0", std));
    }
}

// Every value depends only on its index, so splitting the range between threads cannot
// change a single bit; small ranges are not worth a thread.
template <typename ValueOf>
std::vector<float> generate(int64_t count, ValueOf value_of) {
    std::vector<float> values(static_cast<size_t>(count));
    auto run = [&](int64_t begin, int64_t end) {
        for (int64_t k = begin; k < end; ++k) {
            values[static_cast<size_t>(k)] = value_of(static_cast<uint64_t>(k));
        }
    };
    const int64_t threads = std::clamp<int64_t>(hardware_threads(), 1, 8);
    if (count < (int64_t{1} << 16) || threads == 1) {
        run(0, count);
        return values;
    }
    std::vector<WorkerThread> workers;
    const int64_t chunk = (count + threads - 1) / threads;
    for (int64_t t = 1; t < threads; ++t) {
        workers.emplace_back([&run, begin = std::min(count, t * chunk),
                              end = std::min(count, (t + 1) * chunk)] { run(begin, end); });
    }
    run(0, std::min(count, chunk));
    for (auto& worker : workers) {
        worker.join();
    }
    return values;
}

} // namespace

uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t random_key(uint64_t seed, uint64_t stream) {
    return mix64(mix64(seed) + stream);
}

uint64_t random_bits(uint64_t key, uint64_t counter) {
    return mix64(key + (counter + 1) * gamma);
}

float uniform_float(uint64_t bits) {
    return static_cast<float>(bits >> 40) * (1.0F / 16777216.0F);
}

std::vector<float> uniform_values(uint64_t seed, int64_t count, float low, float high,
                                  uint64_t stream) {
    check_arguments(count, 0.0F);
    const uint64_t key = random_key(seed, stream);
    const double lo = low;
    const double span = static_cast<double>(high) - lo;
    return generate(count, [=](uint64_t k) {
        return static_cast<float>(lo + span * unit_double(random_bits(key, k)));
    });
}

std::vector<float> normal_values(uint64_t seed, int64_t count, float std, uint64_t stream) {
    check_arguments(count, std);
    const uint64_t key = random_key(seed, stream);
    const double sigma = std;
    return generate(count,
                    [=](uint64_t k) { return static_cast<float>(sigma * box_muller(key, 2 * k)); });
}

std::vector<float> trunc_normal_values(uint64_t seed, int64_t count, float std, uint64_t stream) {
    check_arguments(count, std);
    const uint64_t key = random_key(seed, stream);
    const double sigma = std;
    return generate(count, [=](uint64_t k) {
        for (uint64_t attempt = 0; attempt < 64; ++attempt) {
            const double z = box_muller(key, 128 * k + 2 * attempt);
            if (std::fabs(z) <= 2.0) {
                return static_cast<float>(sigma * z);
            }
        }
        return 0.0F;
    });
}

std::vector<float> polar_normal_values(uint64_t seed, int64_t count, float std, uint64_t stream) {
    check_arguments(count, std);
    const uint64_t key = random_key(seed, stream);
    const double sigma = std;
    std::vector<float> values(static_cast<size_t>(count));
    // Pair p fills values 2p and 2p + 1 from the first point of its own counter block that
    // falls inside the unit disc, so every value depends only on (seed, stream, index).
    auto run = [&](int64_t first_pair, int64_t end_pair) {
        for (int64_t p = first_pair; p < end_pair; ++p) {
            double x = 0, y = 0, s = 0;
            for (uint64_t attempt = 0; attempt < 64; ++attempt) {
                const uint64_t counter = 128 * static_cast<uint64_t>(p) + 2 * attempt;
                x = 2.0 * unit_double(random_bits(key, counter)) - 1.0;
                y = 2.0 * unit_double(random_bits(key, counter + 1)) - 1.0;
                s = x * x + y * y;
                if (s > 0.0 && s < 1.0) {
                    break;
                }
            }
            const double factor =
                s > 0.0 && s < 1.0 ? sigma * std::sqrt(-2.0 * std::log(s) / s) : 0.0;
            values[static_cast<size_t>(2 * p)] = static_cast<float>(x * factor);
            if (2 * p + 1 < count) {
                values[static_cast<size_t>(2 * p + 1)] = static_cast<float>(y * factor);
            }
        }
    };
    const int64_t pairs = (count + 1) / 2;
    const int64_t threads = std::clamp<int64_t>(hardware_threads(), 1, 8);
    if (pairs < (int64_t{1} << 15) || threads == 1) {
        run(0, pairs);
        return values;
    }
    std::vector<WorkerThread> workers;
    const int64_t chunk = (pairs + threads - 1) / threads;
    for (int64_t t = 1; t < threads; ++t) {
        workers.emplace_back([&run, begin = std::min(pairs, t * chunk),
                              end = std::min(pairs, (t + 1) * chunk)] { run(begin, end); });
    }
    run(0, std::min(pairs, chunk));
    for (auto& worker : workers) {
        worker.join();
    }
    return values;
}

} // namespace rpb
