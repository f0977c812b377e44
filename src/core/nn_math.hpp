// Private: branch-free float exp and erf that compilers vectorise (the C library's are
// scalar calls, and training evaluates ~20 million of them per step).
#pragma once

#include <bit>
#include <cstdint>

namespace rpb::nn::detail {

/// e^x to about 1 ulp for x in [-87.3, 88.7] (Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a
/// degree-7 polynomial in r, times 2^n built in the exponent bits); x outside is clamped.
static inline float fast_exp(float x) {
    x = x < -87.33654f ? -87.33654f : x;
    x = x > 88.72283f ? 88.72283f : x;
    // Round to nearest by the 1.5 * 2^23 trick: no call, no branch.
    const float shifter = 12582912.0f;
    const float n = (x * 1.44269504088896341f + shifter) - shifter;
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const auto bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
    return p * std::bit_cast<float>(bits);
}

/// erf(x) within 4.2e-7 absolute: x P(x^2) / Q(x^2) on [-4, 4] (Eigen's float erf); outside,
/// erf is +-1 in float32.
static inline float fast_erf(float x) {
    x = x < -4.0f ? -4.0f : x;
    x = x > 4.0f ? 4.0f : x;
    const float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

} // namespace rpb::nn::detail
