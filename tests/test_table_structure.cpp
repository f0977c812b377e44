// table_structure on tables whose numbers follow from their definition by hand, and on the
// symmetries the numbers must respect (a mirrored table keeps its locality, self and row-col).
#include "rpb/error.hpp"
#include "rpb/index.hpp"
#include "rpb/random.hpp"
#include "rpb/table_structure.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <functional>

using namespace rpb;

namespace {

Scheme window2d(int64_t h, int64_t w, bool cls) {
    Scheme s;
    s.type = SchemeType::window2d;
    s.window_h = h;
    s.window_w = w;
    s.cls_token = cls;
    return s;
}

// A table whose head k holds fill[k](dy, dx) at the spatial entries and 10 * (k + 1) + 1, 2,
// 3 at the class token's three entries.
FloatTensor make_table(const Scheme& s,
                       const std::vector<std::function<double(int64_t, int64_t)>>& fill) {
    const auto heads = static_cast<int64_t>(fill.size());
    FloatTensor t({s.num_entries(), heads});
    for (int64_t e = 0; e < s.num_entries(); ++e) {
        const WindowOffset o = window_offset(s, static_cast<int32_t>(e));
        for (int64_t h = 0; h < heads; ++h) {
            t.at(e, h) = o.kind == WindowOffset::Kind::spatial
                             ? static_cast<float>(fill[static_cast<size_t>(h)](o.dy, o.dx))
                             : static_cast<float>(10 * (h + 1) + static_cast<int>(o.kind));
        }
    }
    return t;
}

} // namespace

TEST_CASE("rpb::table_structure gives the hand-computed numbers of simple 2d tables") {
    const Scheme s = window2d(3, 3, false); // offsets dy, dx in [-2, 2]: 25 entries
    const FloatTensor t = make_table(
        s, {
               [](int64_t dy, int64_t dx) { return -std::hypot(double(dy), double(dx)); },
               [](int64_t, int64_t dx) { return double(dx); },
               [](int64_t dy, int64_t) { return dy == 0 ? 1.0 : 0.0; },
               [](int64_t, int64_t) { return 0.5; },
           });
    const auto heads = table_structure(t, s);
    REQUIRE(heads.size() == 4);

    // Head 0 falls with distance: locality 1, symmetric, no row or column preference.
    CHECK(heads[0].head == 0);
    CHECK(heads[0].locality == doctest::Approx(1.0));
    CHECK(heads[0].mirror == doctest::Approx(1.0));
    CHECK(heads[0].row_minus_column == doctest::Approx(0.0));
    CHECK(heads[0].self > 1.5); // its own position holds the largest value
    CHECK(std::isnan(heads[0].cls_to_token));

    // Head 1 = dx: antisymmetric, and as much near as far.
    CHECK(heads[1].mirror == doctest::Approx(-1.0));
    CHECK(heads[1].locality == doctest::Approx(0.0));
    CHECK(heads[1].self == doctest::Approx(0.0));
    CHECK(heads[1].row_minus_column == doctest::Approx(0.0));

    // Head 2 = 1 on the query's row (5 of 25 entries): mean 0.2, std 0.4.
    CHECK(heads[2].self == doctest::Approx((1.0 - 0.2) / 0.4));
    CHECK(heads[2].row_minus_column == doctest::Approx(1.0 / 0.4));
    CHECK(heads[2].mirror == doctest::Approx(1.0));

    // A constant head has no correlations and no spread to measure in.
    CHECK(std::isnan(heads[3].locality));
    CHECK(std::isnan(heads[3].mirror));
    CHECK(std::isnan(heads[3].self));
    CHECK(std::isnan(heads[3].row_minus_column));
}

TEST_CASE("rpb::table_structure reads the class token's entries and 1d windows") {
    const Scheme s = window2d(2, 3, true);
    const FloatTensor t = make_table(s, {[](int64_t dy, int64_t) { return double(-dy * dy); },
                                         [](int64_t dy, int64_t) { return double(dy); }});
    const auto heads = table_structure(t, s);
    REQUIRE(heads.size() == 2);
    CHECK(heads[0].cls_to_token == 11);
    CHECK(heads[0].token_to_cls == 12);
    CHECK(heads[0].cls_to_cls == 13);
    CHECK(heads[1].cls_to_cls == 23);
    CHECK(heads[0].row_minus_column > 0);           // -dy^2: the query's row is its best
    CHECK(heads[1].mirror == doctest::Approx(1.0)); // dy alone is left-right symmetric

    Scheme one_d;
    one_d.type = SchemeType::window1d;
    one_d.window_w = 4; // d in [-3, 3]
    FloatTensor line({7, 1});
    for (int64_t e = 0; e < 7; ++e) {
        line.at(e, 0) = static_cast<float>(window_offset(one_d, static_cast<int32_t>(e)).dx);
    }
    const auto h1 = table_structure(line, one_d);
    REQUIRE(h1.size() == 1);
    CHECK(h1[0].mirror == doctest::Approx(-1.0)); // looking forward against looking back
    CHECK(h1[0].locality == doctest::Approx(0.0));
    CHECK(std::isnan(h1[0].row_minus_column));
    CHECK(std::isnan(h1[0].cls_to_token));
    CHECK(std::isnan(h1[0].row_period));    // no image row given
    CHECK(std::isnan(heads[0].row_period)); // 2d tables have their rows already
}

TEST_CASE("rpb::table_structure finds an image's rows in a 1d table of its patches") {
    // 3x3 patches plus a class token: a 1d window of 10 tokens, d in [-9, 9].
    Scheme s;
    s.type = SchemeType::window1d;
    s.window_w = 10;
    const auto table_of = [&](auto f) {
        FloatTensor t({19, 1});
        for (int64_t e = 0; e < 19; ++e) {
            t.at(e, 0) = static_cast<float>(f(window_offset(s, static_cast<int32_t>(e)).dx));
        }
        return t;
    };
    // A bias of the column offset alone (d mod 3) repeats every row: b(d) = b(d + 3) exactly.
    const auto column_only = table_of([](int64_t d) { return double(((d % 3) + 3) % 3); });
    CHECK(table_structure(column_only, s, 3)[0].row_period == doctest::Approx(1.0));
    // By hand: b = 1 at d = 0 only. Pairs (b(d), b(d + 3)) for d in [-9, 6]: 16 pairs, the
    // first is 1 at d = 0, the second at d = -3, never both; means 1/16. Sum of products minus
    // n * mean * mean: 0 - 16 / 256 = -1/16; each side's sum of squares: 1 - 1/16 = 15/16;
    // correlation -1/15.
    const auto self_only = table_of([](int64_t d) { return d == 0 ? 1.0 : 0.0; });
    CHECK(table_structure(self_only, s, 3)[0].row_period == doctest::Approx(-1.0 / 15.0));
    // A row length the window cannot hold leaves no pairs.
    CHECK(std::isnan(table_structure(self_only, s, 19)[0].row_period));
}

TEST_CASE("rpb::table_structure keeps what a left-right mirror keeps") {
    const Scheme s = window2d(7, 7, true);
    FloatTensor t({s.num_entries(), 2}, normal_values(5, s.num_entries() * 2, 1.0f));
    // The mirror image of head 0 in head 1.
    for (int64_t e = 0; e < s.num_entries(); ++e) {
        const WindowOffset o = window_offset(s, static_cast<int32_t>(e));
        int64_t m = e;
        if (o.kind == WindowOffset::Kind::spatial) {
            m = (o.dy + 6) * 13 + (-o.dx + 6);
        }
        t.at(e, 1) = t.at(m, 0);
    }
    const auto heads = table_structure(t, s);
    CHECK(heads[1].locality == doctest::Approx(heads[0].locality));
    CHECK(heads[1].self == doctest::Approx(heads[0].self));
    CHECK(heads[1].row_minus_column == doctest::Approx(heads[0].row_minus_column));
    CHECK(heads[1].mirror == doctest::Approx(heads[0].mirror));
    CHECK(std::abs(heads[0].mirror) < 0.3); // random values: no symmetry to speak of
}

TEST_CASE("rpb::table_structure refuses t5 tables and tables that do not fit") {
    Scheme t5;
    CHECK_THROWS_AS(table_structure(FloatTensor({32, 2}), t5), UsageError);
    CHECK_THROWS_WITH_AS(table_structure(FloatTensor({168, 4}), window2d(7, 7, true)),
                         doctest::Contains("168 entries does not fit"), Error);
}
