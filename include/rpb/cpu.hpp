// Which vector instructions rpbtool's kernels use: one binary carries every kernel path
// (src/kernels/, each family compiled once per path) and picks one at run time.
//
//   avx512  AVX-512 F, BW, DQ and VL, FMA, and the OS saves ZMM state (XGETBV): Intel
//           Skylake-SP and later Xeons, Ice Lake and later cores with AVX-512, AMD Zen 4+.
//   avx2    AVX2 and FMA, and the OS saves YMM state: Intel Haswell (2013) and later, AMD
//           Zen 1-3 (and Excavator), Intel client cores whose AVX-512 is off (Alder Lake+).
//   scalar  any x86-64 CPU (plain C++, baseline SSE2 code generation).
//
// The path is detected once, from CPUID and XGETBV, as the best one the CPU supports; the
// environment variable RPB_KERNEL_PATH=scalar|avx2|avx512 forces one (to test or compare
// paths on one machine). Results may differ between paths in the last bits (each kernel's
// header states its tolerance against the plain reference); on one path they are fixed.
#pragma once

#include <vector>

namespace rpb {

enum class KernelPath { scalar, avx2, avx512 };

/// The kernel path in use: RPB_KERNEL_PATH when set (and not empty), else the best one this
/// CPU supports. Determined on the first call; later calls return the same.
/// Throws rpb::UsageError when RPB_KERNEL_PATH names a path this CPU lacks (naming the ones
/// it supports) or no path at all (listing the names), on every call.
/// Example: kernel_path() == KernelPath::avx2 on an AMD Zen 3.
KernelPath kernel_path();

/// "scalar", "avx2" or "avx512".
const char* kernel_path_name(KernelPath path);

/// kernel_path_name(kernel_path()); throws as kernel_path() does.
const char* kernel_path_name();

/// Whether this CPU (and its OS) can run `path`; scalar always.
bool cpu_supports(KernelPath path);

/// The paths this CPU supports, from scalar to the best.
std::vector<KernelPath> supported_kernel_paths();

} // namespace rpb
