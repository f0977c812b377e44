// A relative-position scheme: which family (T5 buckets, 1D window, 2D Swin window) and its
// parameters. Everything else (index maps, tables, bias, attention) is derived from this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rpb {

enum class SchemeType { t5, window1d, window2d };

/// "t5", "1d", "2d": the names used by `--type`.
std::string_view scheme_type_name(SchemeType type);

struct T5Params {
    int64_t num_buckets = 32;
    int64_t max_distance = 128;
    bool bidirectional = true; ///< false: causal (decoder) bucketing
};

struct Scheme {
    SchemeType type = SchemeType::t5;
    T5Params t5;
    int64_t qlen = 128;     ///< t5: number of queries
    int64_t klen = 128;     ///< t5: number of keys
    int64_t offset = 0;     ///< t5: position of the first query (zeta `step`)
    int64_t window_h = 7;   ///< 2d: window rows
    int64_t window_w = 7;   ///< 2d: window columns; 1d: window length
    bool cls_token = false; ///< 2d: BEiT class token (3 extra entries, one extra token)

    /// Throws rpb::UsageError naming the offending values when the configuration is
    /// impossible (T5: max_exact >= 1 and max_distance > max_exact; positive lengths).
    void validate() const;

    /// Rows of the learned table: num_buckets (t5), 2W-1 (1d), (2Wh-1)(2Ww-1) (+3) (2d).
    int64_t num_entries() const;
    /// Rows of the index map: qlen (t5), W (1d), Wh*Ww (+1) (2d).
    int64_t num_queries() const;
    /// Columns of the index map: klen (t5), otherwise num_queries().
    int64_t num_keys() const;

    /// One line for titles and JSON: "t5: 32 buckets, max distance 128, bidirectional, ..."
    std::string describe() const;
};

} // namespace rpb
