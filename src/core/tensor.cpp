#include "rpb/tensor.hpp"

#include "rpb/error.hpp"

#include <fmt/format.h>

namespace rpb {

int64_t shape_size(const Shape& shape, int64_t limit) {
    int64_t total = 1;
    for (int64_t d : shape) {
        if (d < 0) {
            throw Error(fmt::format("negative dimension {} in shape {}", d, shape_string(shape)));
        }
        if (d != 0 && total > limit / d) {
            throw Error(fmt::format("shape {} is too large", shape_string(shape)));
        }
        total *= d;
    }
    return total;
}

std::string shape_string(const Shape& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) {
        s += fmt::format("{}{}", i ? ", " : "", shape[i]);
    }
    if (shape.size() == 1) {
        s += ",";
    }
    return s + ")";
}

} // namespace rpb
