#include "rpb/error.hpp"
#include "rpb/swin_v2.hpp"

#include <cmath>
#include <doctest/doctest.h>

using namespace rpb;

TEST_CASE("rpb::cpb_coords") {
    const FloatTensor c = cpb_coords(8, 8);
    CHECK(c.shape() == Shape{15, 15, 2});
    // corner (dy, dx) = (-7, -7): -8 mapped to -log2(9) / 3
    CHECK(c[0] == doctest::Approx(-std::log2(9.0) / 3));
    CHECK(c[7 * 15 * 2 + 7 * 2] == 0.0f); // the centre
    // a pretrained window of 4 stretches the coordinates: dy = 7 -> 7 / 3 * 8
    const FloatTensor p = cpb_coords(8, 8, 4, 4);
    CHECK(p[(14 * 15 + 14) * 2] == doctest::Approx(std::log2(1 + 56.0 / 3) / 3));
}

TEST_CASE("rpb::cpb_table and its shape checks") {
    CpbMlp mlp{FloatTensor({4, 2}), FloatTensor({4}), FloatTensor({3, 4})};
    const FloatTensor zero = cpb_table(mlp, 2, 3);
    CHECK(zero.shape() == Shape{15, 3});
    CHECK(zero[0] == 8.0f); // 16 * sigmoid(0)
    CpbMlp bad{FloatTensor({4, 3}), FloatTensor({4}), FloatTensor({3, 4})};
    CHECK_THROWS_WITH_AS(check_cpb_mlp(bad, "m"),
                         "m: cpb_mlp.0.weight has shape (4, 3), expected (hidden, 2)", Error);
    CpbMlp bad2{FloatTensor({4, 2}), FloatTensor({4}), FloatTensor({3, 5})};
    CHECK_THROWS_WITH_AS(check_cpb_mlp(bad2, "m"),
                         "m: cpb_mlp.2.weight has shape (3, 5), expected (heads, 4)", Error);
}
