// Philox4x32-10 counter-based random numbers and the uniform and normal draws built on them.
//
// Philox4x32-10 is the generator of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
// easy as 1, 2, 3" (SC 2011), also used by cuRAND, so a later GPU version can produce the same
// streams. A stream is keyed by a 64-bit seed. Its 128-bit counter contains the 64-bit stream id
// in the high half and the block index in the low half, so every (seed, stream id) pair is an
// independent sequence. Normal draws use our own Box-Muller transform rather than
// std::normal_distribution, whose output differs between standard libraries.
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
  // uniforms, and the second value is kept for the next call.
  double normal();

  // Fills out[0..n) with standard normal values, the same values as n calls to normal().
  void fill_normal(double* out, std::int64_t n);

  // Draws an integer uniformly from [0, n) without modulo bias. Throws std::invalid_argument
  // when n is 0.
  std::uint64_t uniform_below(std::uint64_t n);

  std::uint64_t seed() const { return seed_; }
  std::uint64_t stream_id() const { return stream_id_; }
  std::uint64_t n_blocks_used() const { return block_index_; }

 private:
  std::uint64_t seed_;
  std::uint64_t stream_id_;
  std::uint64_t block_index_ = 0;
  double spare_normal_ = 0.0;
  bool has_spare_normal_ = false;
};

}  // namespace lsi::qd
