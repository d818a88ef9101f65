// Philox4x32-10 rounds, stream counters and Box-Muller normal draws.
#include "qd/philox.h"

#include <cmath>
#include <stdexcept>

namespace lsi::qd {
namespace {

// Round multipliers and Weyl key increments from Salmon et al. (2011).
constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
constexpr std::uint32_t kKeyIncrement0 = 0x9E3779B9u;
constexpr std::uint32_t kKeyIncrement1 = 0xBB67AE85u;
constexpr int kRounds = 10;

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;

std::uint64_t join_words(std::uint32_t high, std::uint32_t low) {
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

}  // namespace

PhiloxCounter philox4x32_10(PhiloxCounter counter, PhiloxKey key) {
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t product0 = static_cast<std::uint64_t>(kMultiplier0) * counter[0];
    const std::uint64_t product1 = static_cast<std::uint64_t>(kMultiplier1) * counter[2];
    const auto high0 = static_cast<std::uint32_t>(product0 >> 32);
    const auto low0 = static_cast<std::uint32_t>(product0);
    const auto high1 = static_cast<std::uint32_t>(product1 >> 32);
    const auto low1 = static_cast<std::uint32_t>(product1);
    counter = {high1 ^ counter[1] ^ key[0], low1, high0 ^ counter[3] ^ key[1], low0};

    key[0] += kKeyIncrement0;
    key[1] += kKeyIncrement1;
  }
  return counter;
}

PhiloxStream::PhiloxStream(std::uint64_t seed, std::uint64_t stream_id)
    : seed_(seed), stream_id_(stream_id) {}

PhiloxCounter PhiloxStream::next_block() {
  const PhiloxCounter counter = {
      static_cast<std::uint32_t>(block_index_), static_cast<std::uint32_t>(block_index_ >> 32),
      static_cast<std::uint32_t>(stream_id_), static_cast<std::uint32_t>(stream_id_ >> 32)};
  const PhiloxKey key = {static_cast<std::uint32_t>(seed_),
                         static_cast<std::uint32_t>(seed_ >> 32)};
  ++block_index_;
  return philox4x32_10(counter, key);
}

double PhiloxStream::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }

  // u1 lies in (0, 1], so log(u1) is finite, and u2 lies in [0, 1).
  const PhiloxCounter block = next_block();
  const std::uint64_t bits1 = join_words(block[0], block[1]) >> 11;
  const std::uint64_t bits2 = join_words(block[2], block[3]) >> 11;
  const double u1 = static_cast<double>(bits1 + 1) * kTwoPowMinus53;
  const double u2 = static_cast<double>(bits2) * kTwoPowMinus53;

  const double radius = std::sqrt(-2.0 * std::log(u1));
  const double angle = kTwoPi * u2;
  spare_normal_ = radius * std::sin(angle);
  has_spare_normal_ = true;
  return radius * std::cos(angle);
}

void PhiloxStream::fill_normal(double* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) {
    out[i] = normal();
  }
}

std::uint64_t PhiloxStream::uniform_below(std::uint64_t n) {
  if (n == 0) {
    throw std::invalid_argument("PhiloxStream::uniform_below: n must be positive, got 0");
  }

  // Draws below `threshold` would make the low residues more likely, so they are redrawn.
  const std::uint64_t threshold = (0 - n) % n;
  while (true) {
    const PhiloxCounter block = next_block();
    const std::uint64_t bits = join_words(block[0], block[1]);
    if (bits >= threshold) {
      return bits % n;
    }
  }
}

}  // namespace lsi::qd
