// table_structure: per-head numbers of a window table (table_structure.hpp). Small tables
// (a few hundred entries), so everything is plain double-precision loops.
#include "rpb/table_structure.hpp"

#include "rpb/error.hpp"
#include "rpb/index.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <map>
#include <utility>

namespace rpb {

namespace {

constexpr double nan = std::numeric_limits<double>::quiet_NaN();

// Pearson correlation; NaN when either side is constant (no linear relation to speak of).
double correlation(const std::vector<double>& a, const std::vector<double>& b) {
    const auto n = static_cast<double>(a.size());
    double mean_a = 0, mean_b = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        mean_a += a[i];
        mean_b += b[i];
    }
    mean_a /= n;
    mean_b /= n;
    double ab = 0, aa = 0, bb = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        ab += (a[i] - mean_a) * (b[i] - mean_b);
        aa += (a[i] - mean_a) * (a[i] - mean_a);
        bb += (b[i] - mean_b) * (b[i] - mean_b);
    }
    return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : nan;
}

double mean_of(const std::vector<double>& values) {
    if (values.empty()) {
        return nan;
    }
    double sum = 0;
    for (const double v : values) {
        sum += v;
    }
    return sum / static_cast<double>(values.size());
}

} // namespace

std::vector<HeadStructure> table_structure(const FloatTensor& table, const Scheme& scheme,
                                           int64_t row_length) {
    if (scheme.type == SchemeType::t5) {
        throw UsageError("table structure: t5 buckets are not offsets (accepted: 1d and 2d "
                         "window tables)");
    }
    if (table.shape().size() != 2 || table.shape()[0] != scheme.num_entries()) {
        throw Error(fmt::format("table structure: a table of {} entries does not fit {}",
                                table.shape().empty() ? 0 : table.shape()[0], scheme.describe()));
    }
    const int64_t entries = table.shape()[0];
    const int64_t heads = table.shape()[1];
    const bool two_d = scheme.type == SchemeType::window2d;

    // The spatial entries and their offsets, and where each offset's mirror image sits.
    std::vector<int64_t> spatial;
    std::vector<WindowOffset> offsets;
    std::map<std::pair<int64_t, int64_t>, int64_t> at;
    int64_t cls_entry[3] = {-1, -1, -1};
    for (int64_t e = 0; e < entries; ++e) {
        const WindowOffset o = window_offset(scheme, static_cast<int32_t>(e));
        if (o.kind != WindowOffset::Kind::spatial) {
            cls_entry[static_cast<int>(o.kind) - 1] = e;
            continue;
        }
        at[{o.dy, o.dx}] = static_cast<int64_t>(spatial.size());
        spatial.push_back(e);
        offsets.push_back(o);
    }
    std::vector<double> minus_length(spatial.size());
    for (size_t i = 0; i < spatial.size(); ++i) {
        minus_length[i] =
            -std::hypot(static_cast<double>(offsets[i].dy), static_cast<double>(offsets[i].dx));
    }

    std::vector<HeadStructure> out;
    for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> b(spatial.size());
        for (size_t i = 0; i < spatial.size(); ++i) {
            b[i] = table.at(spatial[i], h);
        }
        const double mean = mean_of(b);
        double var = 0;
        for (const double v : b) {
            var += (v - mean) * (v - mean);
        }
        const double std = std::sqrt(var / static_cast<double>(b.size()));
        const auto in_std = [&](double v) { return std > 0 ? v / std : nan; };

        std::vector<double> row, column, mirrored(b.size()), here, a_row_on;
        for (size_t i = 0; i < b.size(); ++i) {
            const WindowOffset& o = offsets[i];
            if (!two_d && row_length > 0) {
                if (const auto next = at.find({0, o.dx + row_length}); next != at.end()) {
                    here.push_back(b[i]);
                    a_row_on.push_back(b[static_cast<size_t>(next->second)]);
                }
            }
            if (o.dy == 0 && o.dx != 0) {
                row.push_back(b[i]);
            }
            if (o.dx == 0 && o.dy != 0) {
                column.push_back(b[i]);
            }
            mirrored[i] = b[static_cast<size_t>(at.at({o.dy, -o.dx}))];
        }
        HeadStructure s;
        s.head = h;
        s.self = in_std(b[static_cast<size_t>(at.at({0, 0}))] - mean);
        s.locality = correlation(b, minus_length);
        s.row_minus_column = two_d ? in_std(mean_of(row) - mean_of(column)) : nan;
        s.mirror = correlation(b, mirrored);
        s.row_period = here.size() >= 2 ? correlation(here, a_row_on) : nan;
        const auto extra = [&](int k) {
            return cls_entry[k] < 0 ? nan : static_cast<double>(table.at(cls_entry[k], h));
        };
        s.cls_to_token = extra(0);
        s.token_to_cls = extra(1);
        s.cls_to_cls = extra(2);
        out.push_back(s);
    }
    return out;
}

} // namespace rpb
