// Pinned values were computed once from the algorithm documented in random.hpp by an
// independent Python implementation (integer arithmetic + math.log/sqrt/cos, rounded to
// float32 with struct), never by this code.
#include "rpb/error.hpp"
#include "rpb/random.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <doctest/doctest.h>
#include <vector>

namespace {

std::vector<uint32_t> bit_patterns(const std::vector<float>& values) {
    std::vector<uint32_t> bits;
    for (float v : values) {
        bits.push_back(std::bit_cast<uint32_t>(v));
    }
    return bits;
}

double sample_std(const std::vector<float>& values) {
    double sum = 0;
    double sum_sq = 0;
    for (float v : values) {
        sum += v;
        sum_sq += static_cast<double>(v) * v;
    }
    const double n = static_cast<double>(values.size());
    const double mean = sum / n;
    return std::sqrt(sum_sq / n - mean * mean);
}

} // namespace

TEST_CASE("rpb::mix64 and rpb::random_bits follow splitmix64") {
    CHECK(rpb::mix64(0) == 0);
    CHECK(rpb::mix64(1) == 0x5692161d100b05e5ULL);
    CHECK(rpb::random_key(0, 0) == 0);
    CHECK(rpb::random_key(42, 1) == 0x901883d2427428f4ULL);
    // The first output of splitmix64 seeded with 0 (the published reference value).
    CHECK(rpb::random_bits(0, 0) == 0xe220a8397b1dcdafULL);
    CHECK(std::bit_cast<uint32_t>(rpb::uniform_float(0xe220a8397b1dcdafULL)) == 1063395496U);
}

TEST_CASE("rpb::normal_values pinned values") {
    CHECK(bit_patterns(rpb::normal_values(7, 6, 0.02F)) ==
          std::vector<uint32_t>{0xbc7c4625, 0xbc2d3e98, 0xbb097579, 0x3c2989b7, 0x3c964f31,
                                0xbc8d2eef});
    CHECK(bit_patterns(rpb::normal_values(0, 6, 1.0F)) ==
          std::vector<uint32_t>{0xbee7cfdd, 0x4029a387, 0xbf7d1529, 0x3e8142cb, 0x3fcccc97,
                                0x3dc0fd71});
}

TEST_CASE("rpb::trunc_normal_values pinned values") {
    // Index 5 is rejected at its first attempt (|z| > 2) and takes the second.
    CHECK(bit_patterns(rpb::trunc_normal_values(0, 8, 1.0F)) ==
          std::vector<uint32_t>{0xbee7cfdd, 0x3f5ea052, 0x3ebb8565, 0x3ece89e9, 0x3ebfc6cb,
                                0x3f577324, 0xbf69ba8a, 0xbde0d599});
    CHECK(bit_patterns(rpb::trunc_normal_values(0, 6, 0.02F)) ==
          std::vector<uint32_t>{0xbc145c12, 0x3c8e7b16, 0x3bf006e7, 0x3c042f4d, 0x3bf57956,
                                0x3c89e34a});
}

TEST_CASE("rpb::uniform_values pinned values") {
    CHECK(bit_patterns(rpb::uniform_values(3, 5, -1.0F, 1.0F, rpb::random_stream::input)) ==
          std::vector<uint32_t>{0x3f62efa3, 0x3f08d812, 0x3e6c0cea, 0xbe8a21a9, 0x3e399855});
}

TEST_CASE("rpb::normal_values is a counter-based stream") {
    // A prefix of a long (multi-threaded) run equals a short (single-threaded) run.
    const auto long_run = rpb::normal_values(11, 200000, 0.5F);
    const auto short_run = rpb::normal_values(11, 1000, 0.5F);
    CHECK(std::vector<float>(long_run.begin(), long_run.begin() + 1000) == short_run);
    CHECK(rpb::normal_values(11, 200000, 0.5F) == long_run);
    CHECK(rpb::normal_values(12, 1000, 0.5F) != short_run);
    CHECK(rpb::normal_values(11, 1000, 0.5F, rpb::random_stream::weights) != short_run);
}

TEST_CASE("rpb::normal_values sample statistics") {
    const auto values = rpb::normal_values(5, 100000, 0.02F);
    CHECK(sample_std(values) == doctest::Approx(0.02).epsilon(0.02));
    double mean = 0;
    for (float v : values) {
        mean += v;
    }
    CHECK(std::fabs(mean / 100000) < 0.001);
}

TEST_CASE("rpb::trunc_normal_values stays within two standard deviations") {
    const float std = 0.02F;
    const auto values = rpb::trunc_normal_values(9, 100000, std);
    bool all_within = true;
    for (float v : values) {
        all_within = all_within && std::fabs(v) <= 2.0F * std;
    }
    CHECK(all_within);
    // The std of a normal truncated at +-2 sigma is 0.8796 sigma.
    CHECK(sample_std(values) == doctest::Approx(0.8796 * std).epsilon(0.02));
}

TEST_CASE("rpb::uniform_values range") {
    const auto values = rpb::uniform_values(1, 10000, -0.5F, 0.25F);
    bool in_range = true;
    for (float v : values) {
        in_range = in_range && v >= -0.5F && v <= 0.25F;
    }
    CHECK(in_range);
}

TEST_CASE("rpb::normal_values rejects bad arguments") {
    CHECK(rpb::normal_values(0, 0, 1.0F).empty());
    CHECK_THROWS_AS(rpb::normal_values(0, -1, 1.0F), rpb::UsageError);
    CHECK_THROWS_WITH_AS(rpb::normal_values(0, 3, -1.0F),
                         "invalid standard deviation -1: expected a finite number >= 0",
                         rpb::UsageError);
    CHECK_THROWS_AS(rpb::trunc_normal_values(0, 3, NAN), rpb::UsageError);
    CHECK(rpb::normal_values(4, 3, 0.0F) == std::vector<float>{0.0F, 0.0F, 0.0F});
}

TEST_CASE("rpb::polar_normal_values: deterministic, normal, index-addressed") {
    const std::vector<float> a = rpb::polar_normal_values(7, 300001, 1.0f, 2);
    const std::vector<float> b = rpb::polar_normal_values(7, 300001, 1.0f, 2);
    CHECK(a == b);
    // Every value depends on its index only: a shorter run (single-threaded) is a prefix.
    const std::vector<float> prefix = rpb::polar_normal_values(7, 1001, 1.0f, 2);
    CHECK(std::equal(prefix.begin(), prefix.end(), a.begin()));
    CHECK(rpb::polar_normal_values(8, 1001, 1.0f, 2) != prefix);
    double sum = 0, squares = 0;
    for (float v : a) {
        sum += v;
        squares += static_cast<double>(v) * v;
    }
    const double mean = sum / static_cast<double>(a.size());
    const double sd = std::sqrt(squares / static_cast<double>(a.size()) - mean * mean);
    CHECK(std::fabs(mean) < 0.01);
    CHECK(std::fabs(sd - 1.0) < 0.01);
    const std::vector<float> scaled = rpb::polar_normal_values(7, 1001, 0.5f, 2);
    for (size_t i = 0; i < scaled.size(); ++i) {
        CHECK(scaled[i] == doctest::Approx(0.5 * prefix[i]).epsilon(1e-6));
    }
    CHECK_THROWS_AS(rpb::polar_normal_values(7, -1, 1.0f, 2), rpb::UsageError);
}
