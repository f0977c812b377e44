// Kernel path detection and the test override (include/rpb/cpu.hpp,
// src/core/kernel_dispatch.hpp). RPB_KERNEL_PATH itself is tested end to end
// (tests/cli/test_kernel_path.sh): it is read once per process.
#include "../src/core/kernel_dispatch.hpp"
#include "rpb/cpu.hpp"
#include "rpb/error.hpp"

#include <cstdlib>
#include <doctest/doctest.h>
#include <string>

TEST_CASE("kernel_path_name") {
    CHECK(std::string(rpb::kernel_path_name(rpb::KernelPath::scalar)) == "scalar");
    CHECK(std::string(rpb::kernel_path_name(rpb::KernelPath::avx2)) == "avx2");
    CHECK(std::string(rpb::kernel_path_name(rpb::KernelPath::avx512)) == "avx512");
}

TEST_CASE("supported_kernel_paths") {
    const auto paths = rpb::supported_kernel_paths();
    REQUIRE(!paths.empty());
    CHECK(paths.front() == rpb::KernelPath::scalar);
    // avx512 implies avx2 (its kernels use AVX2 and FMA instructions too).
    if (rpb::cpu_supports(rpb::KernelPath::avx512)) {
        CHECK(rpb::cpu_supports(rpb::KernelPath::avx2));
    }
    const char* env = std::getenv("RPB_KERNEL_PATH");
    if (env == nullptr || *env == '\0') {
        CHECK(rpb::kernel_path() == paths.back());
    } else {
        CHECK(std::string(rpb::kernel_path_name()) == env);
    }
}

TEST_CASE("set_kernel_path_for_testing") {
    const rpb::KernelPath before = rpb::kernel_path();
    for (const rpb::KernelPath path : rpb::supported_kernel_paths()) {
        rpb::detail::set_kernel_path_for_testing(path);
        CHECK(rpb::kernel_path() == path);
        CHECK(&rpb::detail::kernel_table() == &rpb::detail::kernel_table(path));
    }
    for (const rpb::KernelPath path : {rpb::KernelPath::avx2, rpb::KernelPath::avx512}) {
        if (!rpb::cpu_supports(path)) {
            CHECK_THROWS_AS(rpb::detail::set_kernel_path_for_testing(path), rpb::UsageError);
        }
    }
    rpb::detail::clear_kernel_path_for_testing();
    CHECK(rpb::kernel_path() == before);
}
