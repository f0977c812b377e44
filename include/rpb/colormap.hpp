// Colour maps: matplotlib's 256-entry tables (viridis, magma, RdBu_r, coolwarm) plus gray,
// looked up the way matplotlib does, so a picture made here matches one made with imshow.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rpb {

/// One 8-bit RGB colour.
struct Rgb {
    uint8_t r = 0;
    uint8_t g = 0;
    uint8_t b = 0;
    friend bool operator==(Rgb, Rgb) = default;
};

/// Entry of a 256-entry map for the normalised value `t` (matplotlib's rule):
/// min(floor(t * 256), 255) for t in [0, 1]; t < 0 -> 0, t > 1 -> 255. NaN -> 0 (callers
/// reject NaN before drawing). Example: colormap_index(0.5) == 128, colormap_index(1) == 255.
int colormap_index(double t);

class Colormap {
public:
    /// `rgb`: 256 entries, components in [0, 1]; stored as round(c * 255).
    Colormap(std::string name, const double (&rgb)[256][3]);
    /// Linear gray, entry i = (i, i, i).
    explicit Colormap(std::string name);

    /// The name it is found by ("viridis", "rdbu", ...).
    const std::string& name() const { return name_; }
    /// Entry `index`, clamped to 0..255.
    Rgb entry(int index) const;
    /// Colour of the normalised value `t`: entry(colormap_index(t)).
    Rgb operator()(double t) const { return entries_[static_cast<size_t>(colormap_index(t))]; }

private:
    std::string name_;
    std::array<Rgb, 256> entries_{};
};

/// The map named `name` (case-insensitive): "viridis", "magma", "rdbu" (matplotlib's RdBu_r:
/// blue negative, red positive; "rdbu_r" is accepted too), "coolwarm", "gray". Throws
/// rpb::UsageError naming the value and the accepted names. Lives for the whole program.
const Colormap& find_colormap(std::string_view name);

/// The accepted names, in the order above (without aliases).
std::span<const std::string_view> colormap_names();

} // namespace rpb
