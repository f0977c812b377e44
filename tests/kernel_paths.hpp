// Runs a test body once per kernel path this CPU supports (the test override of
// src/core/kernel_dispatch.hpp), so that one rpb_tests run checks every path's kernels.
#pragma once

#include "../src/core/kernel_dispatch.hpp"
#include "rpb/cpu.hpp"

#include <doctest/doctest.h>
#include <string>

template <typename Fn>
void for_each_kernel_path(Fn&& fn) {
    for (const rpb::KernelPath path : rpb::supported_kernel_paths()) {
        const std::string name = rpb::kernel_path_name(path);
        CAPTURE(name);
        rpb::detail::set_kernel_path_for_testing(path);
        fn(path);
    }
    rpb::detail::clear_kernel_path_for_testing();
}
