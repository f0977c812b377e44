// Test helper: reads a reference colour map CSV from tests/colormaps/ (where they come from:
// README.md there) and gives its entries as 8-bit colours, round(c * 255), independently of
// rpb::Colormap.
#pragma once

#include "rpb/colormap.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

inline std::array<rpb::Rgb, 256> read_colormap_csv(const std::string& file_name) {
    const std::string path = std::string(RPB_TEST_DATA_DIR) + "/colormaps/" + file_name;
    std::ifstream in(path);
    std::string line;
    if (!std::getline(in, line) || line.rfind("r,g,b", 0) != 0) {
        throw std::runtime_error("cannot read the header of " + path);
    }
    std::array<rpb::Rgb, 256> entries{};
    const auto byte = [](double c) { return static_cast<uint8_t>(std::lround(c * 255.0)); };
    for (auto& entry : entries) {
        double r = 0;
        double g = 0;
        double b = 0;
        if (!std::getline(in, line) || std::sscanf(line.c_str(), "%lf,%lf,%lf", &r, &g, &b) != 3) {
            throw std::runtime_error("short or malformed " + path);
        }
        entry = {byte(r), byte(g), byte(b)};
    }
    return entries;
}
