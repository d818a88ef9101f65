// Philox4x32-10 counter-based random numbers and the uniform and normal draws built on them.
//
// Philox4x32-10 is the generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
// easy as 1, 2, 3" (SC 2011), also used by cuRAND, so a later GPU version can produce the same
// streams. A stream is keyed by a 64-bit seed. Its 128-bit counter contains the 64-bit stream id
// in the high half and the block index in the low half, so every (seed, stream id) pair is an
// independent sequence. Normal draws use our own Box-Muller transform rather than
// std::normal_distribution, whose output differs between standard libraries.
//
// Normal draws 2b and 2b + 1 of a stream that has made no other draws come from its block b,
// words (w0, w1, w2, w3):
//   u1 = ((w1:w0 >> 11) + 1) 2^-53 in (0, 1],  u2 = (w3:w2 >> 11) 2^-53 in [0, 1),
//   z_2b = sqrt(-2 ln u1) cos(2 pi u2),  z_2b+1 = sqrt(-2 ln u1) sin(2 pi u2),
// where w1:w0 is the 64-bit integer with w1 as its high word. The logarithm, sine and cosine
// are our own vectorised kernels, within a few units in the last place of the exact values, as
// tests/test_qd_philox.cpp checks against libm. So another implementation of this mapping,
// such as a GPU one, agrees to about 1e-15 but not bit for bit. One binary always produces the
// same values, and builds with and without fused multiply-add differ in the last bit.
#pragma once

#include <array>
#include <cstdint>

namespace lsi::qd {

using PhiloxCounter = std::array<std::uint32_t, 4>;
using PhiloxKey = std::array<std::uint32_t, 2>;

// Applies the ten Philox4x32 rounds to one counter block.
PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key);

class PhiloxStream {
 public:
  PhiloxStream(std::uint64_t seed, std::uint64_t stream_id);

  // Returns the next 128 random bits and advances the block index by one.
  PhiloxCounter next_block();

  // Draws a standard normal value. Each block yields two values by Box-Muller with 53-bit
  // uniforms, and the second value is kept for the next call. It computes a whole chunk of
  // blocks for one value, so use fill_normal() for many values.
  double normal();

  // Fills out[0..n) with standard normal values, the same values as n calls to normal().
  // Whole chunks of 16 blocks are computed at once, in vectorised loops.
  void fill_normal(double* out, std::int64_t n);

  // Draws an integer uniformly from [0, n) without modulo bias. Throws std::invalid_argument
  // when n is 0.
  std::uint64_t uniform_below(std::uint64_t n);

  std::uint64_t seed() const { return seed_; }
  std::uint64_t stream_id() const { return stream_id_; }
  std::uint64_t n_blocks_used() const { return block_index_; }
  // True when the last normal draw left the second value of its block for the next one.
  bool has_spare_normal() const { return has_spare_normal_; }

 private:
  PhiloxKey key() const;

  std::uint64_t seed_;
  std::uint64_t stream_id_;
  std::uint64_t block_index_ = 0;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

}  // namespace lsi::qd
