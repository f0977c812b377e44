#include "rpb/error.hpp"
#include "rpb/resize.hpp"
#include "rpb/safetensors_file.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <string>

using namespace rpb;

namespace {
const std::string zoo = std::string(RPB_TEST_DATA_DIR) + "/golden/zoo/";
}

TEST_CASE("rpb::bicubic_resize") {
    // The same size is the identity (weights 0, 1, 0, 0 at fraction 0).
    FloatTensor planes({2, 3, 5});
    for (int64_t i = 0; i < planes.size(); ++i) {
        planes[i] = static_cast<float>(i % 7) - 3.0f;
    }
    CHECK(std::ranges::equal(bicubic_resize(planes, 3, 5).values(), planes.values()));
    // A constant stays constant: the four weights sum to one.
    const FloatTensor ones({1, 4, 4}, std::vector<float>(16, 1.5f));
    const FloatTensor resized = bicubic_resize(ones, 9, 7);
    for (float v : resized.values()) {
        CHECK(v == doctest::Approx(1.5f).epsilon(1e-6));
    }
    // PyTorch: F.interpolate(tensor([[[[0., 1.]]]]), size=(1, 4), mode='bicubic')
    // = [-0.10546875, 0.2265625, 0.7734375, 1.10546875] (float64)
    const FloatTensor row({1, 1, 2}, {0.0f, 1.0f});
    const FloatTensor out = bicubic_resize(row, 1, 4);
    CHECK(out[0] == doctest::Approx(-0.10546875));
    CHECK(out[1] == doctest::Approx(0.2265625));
    CHECK(out[2] == doctest::Approx(0.7734375));
    CHECK(out[3] == doctest::Approx(1.10546875));
    CHECK_THROWS_AS(bicubic_resize(row, 0, 4), UsageError);
}

TEST_CASE("rpb::resize_table keeps the class-token entries") {
    Scheme beit;
    beit.type = SchemeType::window2d;
    beit.window_h = beit.window_w = 2;
    beit.cls_token = true;
    FloatTensor table({12, 1});
    for (int64_t e = 0; e < 12; ++e) {
        table[e] = static_cast<float>(e);
    }
    const FloatTensor out = resize_table(table, beit, 3, 3);
    CHECK(out.shape() == Shape{28, 1});
    CHECK(out[25] == 9.0f);
    CHECK(out[26] == 10.0f);
    CHECK(out[27] == 11.0f);
    CHECK_THROWS_WITH_AS(resize_table(FloatTensor({10, 1}), beit, 3, 3),
                         "table has shape (10, 1), expected (12, heads) for 2d window 2x2 + class "
                         "token (12 entries)",
                         Error);
}

TEST_CASE("rpb::resize_checkpoint copies every other tensor byte for byte") {
    const SafetensorsFile file(zoo + "tv_swin.safetensors");
    std::string bytes;
    const auto changes = resize_checkpoint(file, 12, 12, [&](const void* data, size_t size) {
        bytes.append(static_cast<const char*>(data), size);
    });
    CHECK(changes.size() == 8);
    const std::string path = "/tmp/rpb_test_resized.safetensors";
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    const SafetensorsFile out(path);
    REQUIRE(out.entries().size() == file.entries().size());
    for (const auto& e : file.entries()) {
        const auto* r = out.find(e.name);
        REQUIRE(r != nullptr);
        CHECK(r->dtype == e.dtype);
        const bool window = e.name.ends_with("relative_position_bias_table") ||
                            e.name.ends_with("relative_position_index");
        if (!window) {
            const auto a = file.bytes(e);
            const auto b = out.bytes(*r);
            CHECK(std::equal(a.begin(), a.end(), b.begin(), b.end()));
        }
    }
    CHECK(out.find("features.1.0.attn.relative_position_index")->shape == Shape{144 * 144});
    std::remove(path.c_str());
}
