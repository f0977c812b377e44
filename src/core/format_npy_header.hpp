// Private: the Python-literal header dict of a .npy file (npy.cpp).
#pragma once

#include "rpb/tensor.hpp"

#include <string>
#include <string_view>

namespace rpb::detail {

struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    Shape shape;
};

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` (keys in any
/// order, either quote, optional trailing comma, surrounding whitespace). Throws
/// rpb::Error "<origin>: malformed .npy header: <what>" for anything else.
NpyHeader parse_npy_header(std::string_view text, std::string_view origin);

} // namespace rpb::detail
