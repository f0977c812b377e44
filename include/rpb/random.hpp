// Seeded random numbers that are the same on every machine, compiler and thread count.
//
// The standard library's distributions differ between implementations, so rpbtool uses its
// own generator and transforms, specified here exactly (tests pin values computed from this
// text by an independent implementation):
//
//   mix64(z)   = splitmix64 finaliser: z ^= z >> 30; z *= 0xbf58476d1ce4e5b9;
//                z ^= z >> 27; z *= 0x94d049bb133111eb; z ^= z >> 31  (wrapping uint64)
//   gamma      = 0x9e3779b97f4a7c15
//   key        = mix64(mix64(seed) + stream)
//   bits(c)    = mix64(key + (c + 1) * gamma)      (value c of the splitmix64 stream of key)
//
// Counter-based: value c depends only on (seed, stream, c), so a range can be generated in
// any order, in parallel, with identical results. Transforms:
//
//   uniform float in [0, 1):  (bits >> 40) * 2^-24                    (exact in float32)
//   unit double in [0, 1):    (bits >> 11) * 2^-53
//   normal value k (Box-Muller, cosine branch only, computed in double):
//       u1 = ((bits(2k) >> 11) + 1) * 2^-53  in (0, 1],  u2 = unit double of bits(2k + 1)
//       z  = sqrt(-2 log u1) * cos(2 pi u2);   value = float32(double(std) * z)
//   truncated normal value k (rejection at |z| > 2, i.e. +-2 std):
//       attempt a = 0, 1, ..., 63 uses counters 128k + 2a and 128k + 2a + 1 as above; the
//       first z with |z| <= 2 is taken (after 64 rejections, probability ~1e-86, 0).
//
// Residual risk: std::log, std::sqrt and std::cos come from the C library. sqrt is exact
// (IEEE); glibc's log and cos are accurate to < 1 ulp in double but not guaranteed to be
// correctly rounded on every libm, so a different libm could differ in the last double bit.
// The result is rounded to float32, which hides such a difference unless the double lies
// within one double ulp of a float32 rounding boundary (about 1 value in 2^29).
#pragma once

#include <cstdint>
#include <vector>

namespace rpb {

/// Stream ids: independent sequences from one user seed, one per purpose.
namespace random_stream {
inline constexpr uint64_t table = 0;   ///< bias tables (--init)
inline constexpr uint64_t weights = 1; ///< attention weights
inline constexpr uint64_t input = 2;   ///< random attention input
} // namespace random_stream

/// splitmix64's output function (see above).
uint64_t mix64(uint64_t z);

/// The generator key of (seed, stream): mix64(mix64(seed) + stream).
uint64_t random_key(uint64_t seed, uint64_t stream);

/// Value `counter` of the stream with this key: mix64(key + (counter + 1) * gamma).
uint64_t random_bits(uint64_t key, uint64_t counter);

/// Uniform float32 in [0, 1) from the top 24 bits.
float uniform_float(uint64_t bits);

/// `count` uniform values low + (high - low) * u, u a unit double, rounded to float32
/// (so in [low, high]). Throws rpb::UsageError when count < 0.
std::vector<float> uniform_values(uint64_t seed, int64_t count, float low, float high,
                                  uint64_t stream = random_stream::table);

/// `count` normal(0, std) values, element k as specified above. Throws rpb::UsageError
/// when count < 0 or std is negative or not finite.
std::vector<float> normal_values(uint64_t seed, int64_t count, float std,
                                 uint64_t stream = random_stream::table);

/// `count` normal(0, std) values truncated to [-2 std, 2 std] by rejection; every value
/// satisfies |v| <= 2 * std exactly. Same errors as normal_values.
std::vector<float> trunc_normal_values(uint64_t seed, int64_t count, float std,
                                       uint64_t stream = random_stream::table);

/// `count` normal(0, std) values by Marsaglia's polar method, about three times cheaper than
/// normal_values (one log per two values, no cosine); used for large random inputs. Pair p
/// (values 2p and 2p + 1) takes the first point (x, y) = (2u - 1, 2v - 1), u and v the unit
/// doubles of values 128p + 2a and 128p + 2a + 1 of the stream (a = 0, 1, ...), with
/// 0 < s = x^2 + y^2 < 1, and gives x * f, y * f with f = std * sqrt(-2 ln(s) / s), computed
/// in double and rounded to float32. Same errors as normal_values.
std::vector<float> polar_normal_values(uint64_t seed, int64_t count, float std,
                                       uint64_t stream = random_stream::table);

} // namespace rpb
