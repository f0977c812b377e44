// Runs a test body once per kernel path this CPU supports (the test override of
// src/core/kernel_dispatch.hpp), so that one rpb_tests run checks every path's kernels;
// only on the RPB_KERNEL_PATH one when that is set (CTest runs the suite once per path).
#pragma once

#include "../src/core/kernel_dispatch.hpp"
#include "rpb/cpu.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <string>

template <typename Fn>
void for_each_kernel_path(Fn&& fn) {
    const char* forced = std::getenv("RPB_KERNEL_PATH");
    for (const rpb::KernelPath path : rpb::supported_kernel_paths()) {
        if (forced != nullptr && *forced != '\0' && path != rpb::kernel_path()) {
            continue;
        }
        const std::string name = rpb::kernel_path_name(path);
        CAPTURE(name);
        rpb::detail::set_kernel_path_for_testing(path);
        fn(path);
    }
    rpb::detail::clear_kernel_path_for_testing();
}
