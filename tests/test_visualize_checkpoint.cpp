#include "rpb/error.hpp"
#include "rpb/heatmap.hpp"
#include "rpb/visualize_checkpoint.hpp"

#include <algorithm>
#include <doctest/doctest.h>
#include <string>

using namespace rpb;

namespace {
const std::string zoo = std::string(RPB_TEST_DATA_DIR) + "/golden/zoo/";
}

TEST_CASE("rpb::checkpoint_heatmap: a row per block, a panel per head") {
    const SafetensorsFile file(zoo + "tv_swin.safetensors");
    const HeatmapSpec spec = checkpoint_heatmap(file, CheckpointRange::shared);
    CHECK(spec.columns == 4);
    CHECK(spec.row_labels == std::vector<std::string>{"features.1.0.attn", "features.1.1.attn",
                                                      "features.3.0.attn", "features.3.1.attn"});
    REQUIRE(spec.panels.size() == 12);
    CHECK(spec.panels[2].slot == 4); // the second block starts the second row
    CHECK(spec.panels[4].slot == 8);
    CHECK(spec.panels[0].values.shape() == Shape{13, 13});
    RenderInfo info;
    render_heatmap(spec, &info);
    REQUIRE(info.panels.size() == 12);
    CHECK(info.panels[2].x == info.panels[0].x); // same column
    CHECK(info.panels[2].y > info.panels[0].y);

    const HeatmapSpec scaled = checkpoint_heatmap(file, CheckpointRange::per_block);
    float top = 0;
    for (const Panel& p : scaled.panels) {
        for (float v : p.values.values()) {
            top = std::max(top, std::abs(v));
        }
    }
    CHECK(top == 1.0f);
    CHECK_THROWS_AS(parse_checkpoint_range("wide"), UsageError);
}
