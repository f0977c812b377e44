#include "rpb/scheme.hpp"

#include "rpb/error.hpp"

#include <fmt/format.h>

namespace rpb {

namespace {

// Bounds that keep every derived allocation modest: the T5 and 1D maps are stored as their
// q + k - 1 distinct entries (8 MB at the limit), 2D maps densely (64 MB at the limit).
constexpr int64_t max_length = int64_t{1} << 20;
constexpr int64_t max_buckets = int64_t{1} << 20;
constexpr int64_t max_window_tokens = 4096;

void require_in_range(std::string_view option, int64_t value, int64_t low, int64_t high) {
    if (value < low || value > high) {
        throw UsageError(fmt::format("{} {} is out of range: expected an integer from {} to {}",
                                     option, value, low, high));
    }
}

} // namespace

std::string_view scheme_type_name(SchemeType type) {
    switch (type) {
    case SchemeType::t5:
        return "t5";
    case SchemeType::window1d:
        return "1d";
    case SchemeType::window2d:
        return "2d";
    }
    return "?";
}

void Scheme::validate() const {
    switch (type) {
    case SchemeType::t5: {
        require_in_range("--num-buckets", t5.num_buckets, 1, max_buckets);
        require_in_range("--qlen", qlen, 1, max_length);
        require_in_range("--klen", klen, 1, max_length);
        require_in_range("--offset", offset, 0, max_length);
        const int64_t half = t5.bidirectional ? t5.num_buckets / 2 : t5.num_buckets;
        const int64_t max_exact = half / 2;
        if (max_exact < 1) {
            throw UsageError(fmt::format(
                "--num-buckets {} leaves no exact bucket{}: expected at least {}", t5.num_buckets,
                t5.bidirectional ? " in each half (bidirectional)" : "", t5.bidirectional ? 4 : 2));
        }
        if (t5.max_distance <= max_exact || t5.max_distance > (int64_t{1} << 31)) {
            throw UsageError(
                fmt::format("--max-distance {} must be above the exact range of --num-buckets {} "
                            "(expected an integer from {} to 2147483648)",
                            t5.max_distance, t5.num_buckets, max_exact + 1));
        }
        break;
    }
    case SchemeType::window1d:
        require_in_range("--window", window_w, 1, max_length);
        break;
    case SchemeType::window2d:
        require_in_range("--window height", window_h, 1, max_window_tokens);
        require_in_range("--window width", window_w, 1, max_window_tokens);
        if (window_h * window_w > max_window_tokens) {
            throw UsageError(fmt::format("--window {}x{} has {} tokens: expected at most {}",
                                         window_h, window_w, window_h * window_w,
                                         max_window_tokens));
        }
        break;
    }
}

int64_t Scheme::num_entries() const {
    switch (type) {
    case SchemeType::t5:
        return t5.num_buckets;
    case SchemeType::window1d:
        return 2 * window_w - 1;
    case SchemeType::window2d:
        return (2 * window_h - 1) * (2 * window_w - 1) + (cls_token ? 3 : 0);
    }
    return 0;
}

int64_t Scheme::num_queries() const {
    switch (type) {
    case SchemeType::t5:
        return qlen;
    case SchemeType::window1d:
        return window_w;
    case SchemeType::window2d:
        return window_h * window_w + (cls_token ? 1 : 0);
    }
    return 0;
}

int64_t Scheme::num_keys() const {
    return type == SchemeType::t5 ? klen : num_queries();
}

std::string Scheme::describe() const {
    switch (type) {
    case SchemeType::t5:
        return fmt::format("t5: {} buckets, max distance {}, {}, q={} k={}{}", t5.num_buckets,
                           t5.max_distance, t5.bidirectional ? "bidirectional" : "causal", qlen,
                           klen, offset ? fmt::format(" offset={}", offset) : std::string());
    case SchemeType::window1d:
        return fmt::format("1d window {} ({} entries)", window_w, num_entries());
    case SchemeType::window2d:
        return fmt::format("2d window {}x{}{} ({} entries)", window_h, window_w,
                           cls_token ? " + class token" : "", num_entries());
    }
    return {};
}

} // namespace rpb
