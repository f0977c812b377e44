// Kernel path detection: CPUID says what the CPU implements, XGETBV whether the OS saves
// the registers (a CPU with AVX-512 under an OS or hypervisor that does not enable ZMM state
// faults on the first AVX-512 instruction).
#include "rpb/cpu.hpp"

#include "kernel_dispatch.hpp"
#include "rpb/error.hpp"

#include <atomic>
#include <cpuid.h>
#include <cstdint>
#include <cstdlib>
#include <fmt/format.h>
#include <string>

namespace rpb {
namespace {

struct CpuFeatures {
    bool avx2 = false;
    bool avx512 = false;
};

uint64_t xgetbv0() {
    uint32_t lo = 0;
    uint32_t hi = 0;
    // As inline assembly: the intrinsic would need -mxsave for this whole file.
    asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

CpuFeatures detect() {
    CpuFeatures f;
    unsigned a = 0;
    unsigned b = 0;
    unsigned c = 0;
    unsigned d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d) == 0) {
        return f;
    }
    const bool fma = (c & (1u << 12)) != 0;
    const bool osxsave = (c & (1u << 27)) != 0;
    const bool avx = (c & (1u << 28)) != 0;
    if (!osxsave || !avx) {
        return f;
    }
    const uint64_t xcr0 = xgetbv0();
    const bool ymm_state = (xcr0 & 0x6) == 0x6;   // SSE and AVX state
    const bool zmm_state = (xcr0 & 0xe0) == 0xe0; // opmask, ZMM0-15 upper halves, ZMM16-31
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
        return f;
    }
    const bool avx2 = (b & (1u << 5)) != 0;
    const bool avx512f = (b & (1u << 16)) != 0;
    const bool avx512dq = (b & (1u << 17)) != 0;
    const bool avx512bw = (b & (1u << 30)) != 0;
    const bool avx512vl = (b & (1u << 31)) != 0;
    f.avx2 = avx2 && fma && ymm_state;
    f.avx512 = f.avx2 && avx512f && avx512dq && avx512bw && avx512vl && zmm_state;
    return f;
}

const CpuFeatures& features() {
    static const CpuFeatures f = detect();
    return f;
}

std::string supported_names() {
    std::string names;
    for (const KernelPath p : supported_kernel_paths()) {
        names += names.empty() ? "" : ", ";
        names += kernel_path_name(p);
    }
    return names;
}

// The path, or the message of the UsageError that every call throws.
struct Choice {
    KernelPath path = KernelPath::scalar;
    std::string error;
};

Choice choose() {
    const char* env = std::getenv("RPB_KERNEL_PATH");
    const std::vector<KernelPath> paths = supported_kernel_paths();
    if (env == nullptr || *env == '\0') {
        return {paths.back(), {}};
    }
    const std::string wanted = env;
    for (const KernelPath p : {KernelPath::scalar, KernelPath::avx2, KernelPath::avx512}) {
        if (wanted == kernel_path_name(p)) {
            if (!cpu_supports(p)) {
                return {p, fmt::format("RPB_KERNEL_PATH={}: this CPU does not support it; it "
                                       "supports {}",
                                       wanted, supported_names())};
            }
            return {p, {}};
        }
    }
    return {paths.back(), fmt::format("RPB_KERNEL_PATH={}: unknown kernel path; expected "
                                      "scalar, avx2 or avx512",
                                      wanted)};
}

const Choice& chosen() {
    static const Choice c = choose();
    return c;
}

// Set by the test-only override; -1 when unset.
std::atomic<int> override_path{-1};

} // namespace

bool cpu_supports(KernelPath path) {
    switch (path) {
    case KernelPath::scalar:
        return true;
    case KernelPath::avx2:
        return features().avx2;
    case KernelPath::avx512:
        return features().avx512;
    }
    return false;
}

std::vector<KernelPath> supported_kernel_paths() {
    std::vector<KernelPath> paths;
    for (const KernelPath p : {KernelPath::scalar, KernelPath::avx2, KernelPath::avx512}) {
        if (cpu_supports(p)) {
            paths.push_back(p);
        }
    }
    return paths;
}

KernelPath kernel_path() {
    if (const int forced = override_path.load(std::memory_order_relaxed); forced >= 0) {
        return static_cast<KernelPath>(forced);
    }
    const Choice& c = chosen();
    if (!c.error.empty()) {
        throw UsageError(c.error);
    }
    return c.path;
}

const char* kernel_path_name(KernelPath path) {
    switch (path) {
    case KernelPath::scalar:
        return "scalar";
    case KernelPath::avx2:
        return "avx2";
    case KernelPath::avx512:
        return "avx512";
    }
    return "unknown";
}

const char* kernel_path_name() {
    return kernel_path_name(kernel_path());
}

namespace detail {

void set_kernel_path_for_testing(KernelPath path) {
    if (!cpu_supports(path)) {
        throw UsageError(fmt::format("kernel path {}: this CPU does not support it; it supports {}",
                                     kernel_path_name(path), supported_names()));
    }
    override_path.store(static_cast<int>(path), std::memory_order_relaxed);
}

void clear_kernel_path_for_testing() {
    override_path.store(-1, std::memory_order_relaxed);
}

} // namespace detail
} // namespace rpb
