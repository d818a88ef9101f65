// Philox4x32-10 draws for the device search, with the streams, normal values and integer draws
// of qd::PhiloxStream (qd/philox.h), as functions that run on the GPU and on the CPU.
//
// Block b of stream s under seed k is Philox4x32-10 of counter {b_lo, b_hi, s_lo, s_hi} with key
// {k_lo, k_hi}, as in qd::PhiloxStream. Its two normal values use the Box-Muller mapping of
// qd/philox.h, including its octant reduction of the angle 2 pi u2. Only the logarithm, sine and
// cosine differ from qd's own polynomial kernels: this file calls the CUDA math library's on the
// GPU and the C++ library's on the CPU. So the values agree with qd::PhiloxStream's to about
// 1e-15, but not bit for bit.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/search_step.h"

namespace lsi::search {

// The four 32-bit words of one Philox block, w[0] .. w[3] as qd::PhiloxCounter orders them.
struct PhiloxWords {
  std::uint32_t w[4];
};

// The two standard normal values of one Philox block: draws 2b and 2b + 1 of its stream.
struct NormalPair {
  double first;
  double second;
};

// Returns Philox4x32-10 of block block_index of stream stream_id under seed, the words that
// qd::PhiloxStream::next_block() returns at that block index.
LSI_HD inline PhiloxWords philox_block(std::uint64_t seed, std::uint64_t stream_id,
                                       std::uint64_t block_index) {
  // Round multipliers and Weyl key increments of Salmon et al. (SC 2011).
  constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
  constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
  constexpr std::uint32_t kKeyIncrement0 = 0x9E3779B9u;
  constexpr std::uint32_t kKeyIncrement1 = 0xBB67AE85u;
  constexpr int kRounds = 10;

  std::uint32_t c0 = static_cast<std::uint32_t>(block_index);
  std::uint32_t c1 = static_cast<std::uint32_t>(block_index >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(stream_id);
  std::uint32_t c3 = static_cast<std::uint32_t>(stream_id >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t product0 = static_cast<std::uint64_t>(kMultiplier0) * c0;
    const std::uint64_t product1 = static_cast<std::uint64_t>(kMultiplier1) * c2;
    const std::uint32_t next0 = static_cast<std::uint32_t>(product1 >> 32) ^ c1 ^ k0;
    const std::uint32_t next2 = static_cast<std::uint32_t>(product0 >> 32) ^ c3 ^ k1;
    c0 = next0;
    c1 = static_cast<std::uint32_t>(product1);
    c2 = next2;
    c3 = static_cast<std::uint32_t>(product0);
    k0 += kKeyIncrement0;
    k1 += kKeyIncrement1;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

// Returns the two normal values of block block_index of stream stream_id under seed. With
// w1:w0 the 64-bit integer whose high word is w1,
//   u1 = ((w1:w0 >> 11) + 1) 2^-53 in (0, 1],  u2 = (w3:w2 >> 11) 2^-53 in [0, 1),
//   first = sqrt(-2 ln u1) cos(2 pi u2),  second = sqrt(-2 ln u1) sin(2 pi u2).
// As in qd/philox.cpp, 2 pi u2 is split exactly into its octant q (the top 3 bits of u2) and
// x in [0, pi / 4], so the sine and cosine get an exact small argument. The angle is
// q pi / 4 + x for even q and (q + 1) pi / 4 - x for odd q.
LSI_HD inline NormalPair philox_normal_pair(std::uint64_t seed, std::uint64_t stream_id,
                                            std::uint64_t block_index) {
  constexpr double kTwoPowMinus50 = 1.0 / 1125899906842624.0;
  constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;
  constexpr double kPiOver4 = 0.78539816339744830961566084581988;
  constexpr std::uint64_t kLow50Bits = (1ull << 50) - 1;

  const PhiloxWords block = philox_block(seed, stream_id, block_index);
  const std::uint64_t u1_integer =
      ((static_cast<std::uint64_t>(block.w[1]) << 32) | block.w[0]) >> 11;
  const std::uint64_t u2_integer =
      ((static_cast<std::uint64_t>(block.w[3]) << 32) | block.w[2]) >> 11;
  // Integers below 2^53 convert to double exactly, so u1 is exact.
  const double u1 = static_cast<double>(u1_integer + 1) * kTwoPowMinus53;

  const std::uint64_t octant = u2_integer >> 50;
  const double fraction = static_cast<double>(u2_integer & kLow50Bits) * kTwoPowMinus50;
  const bool odd = (octant & 1) != 0;
  const bool swap = (((octant + 1) >> 1) & 1) != 0;          // octants 1, 2, 5, 6
  const bool cos_negative = (((octant + 2) >> 2) & 1) != 0;  // octants 2-5
  const bool sin_negative = ((octant >> 2) & 1) != 0;        // octants 4-7
  const double x = (odd ? 1.0 - fraction : fraction) * kPiOver4;

  double sin_x = 0.0;
  double cos_x = 0.0;
  double log_u1 = 0.0;
  double radius = 0.0;
#if defined(__CUDA_ARCH__)
  sincos(x, &sin_x, &cos_x);
  log_u1 = log(u1);
  radius = sqrt(-2.0 * log_u1);
#else
  sin_x = std::sin(x);
  cos_x = std::cos(x);
  log_u1 = std::log(u1);
  radius = std::sqrt(-2.0 * log_u1);
#endif
  const double cos_angle = swap ? sin_x : cos_x;
  const double sin_angle = swap ? cos_x : sin_x;
  return NormalPair{radius * (cos_negative ? -cos_angle : cos_angle),
                    radius * (sin_negative ? -sin_angle : sin_angle)};
}

// Draws an integer uniformly from [0, n) as qd::PhiloxStream::uniform_below does, starting at
// block *block_index and advancing it past every block used. Each block gives the 64-bit
// integer w0:w1 (w0 the high word), redrawn while it is below 2^64 mod n and else reduced mod n.
// n must be positive: for n = 0, where qd throws, this returns 0 and uses no block.
// block_index is unsigned long long, the type of the device search's per-stream positions.
LSI_HD inline std::uint64_t philox_uniform_below(std::uint64_t seed, std::uint64_t stream_id,
                                                 std::uint64_t n, unsigned long long* block_index) {
  if (n == 0) return 0;
  const std::uint64_t threshold = (0 - n) % n;
  while (true) {
    const PhiloxWords block = philox_block(seed, stream_id, *block_index);
    ++*block_index;
    const std::uint64_t bits = (static_cast<std::uint64_t>(block.w[0]) << 32) | block.w[1];
    if (bits >= threshold) return bits % n;
  }
}

}  // namespace lsi::search
