// Tests of the Philox4x32-10 generator and the normal and integer draws built on it.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "qd/philox.h"

using lsi::qd::PhiloxCounter;
using lsi::qd::PhiloxKey;
using lsi::qd::PhiloxStream;

TEST_CASE("Philox4x32-10 known answers") {
  // Known-answer vectors of Random123's kat_vectors file, the reference implementation of
  // Salmon et al. (2011).
  CHECK(lsi::qd::philox4x32_10({0, 0, 0, 0}, {0, 0}) ==
        PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});
  CHECK(lsi::qd::philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
                               {0xffffffffu, 0xffffffffu}) ==
        PhiloxCounter{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu});
  CHECK(lsi::qd::philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u},
                               {0xa4093822u, 0x299f31d0u}) ==
        PhiloxCounter{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u});
}

TEST_CASE("stream counter layout") {
  // Block b of stream s under seed k is Philox(counter = {b_lo, b_hi, s_lo, s_hi},
  // key = {k_lo, k_hi}).
  const std::uint64_t seed = 0x0123456789abcdefull;
  const std::uint64_t stream_id = 0xfedcba9876543210ull;
  PhiloxStream stream(seed, stream_id);
  const PhiloxKey key = {0x89abcdefu, 0x01234567u};
  CHECK(stream.next_block() == lsi::qd::philox4x32_10({0, 0, 0x76543210u, 0xfedcba98u}, key));
  CHECK(stream.next_block() == lsi::qd::philox4x32_10({1, 0, 0x76543210u, 0xfedcba98u}, key));
  CHECK(stream.n_blocks_used() == 2);
}

TEST_CASE("streams differ by seed and stream id") {
  PhiloxStream a(1, 0);
  PhiloxStream b(1, 1);
  PhiloxStream c(2, 0);
  PhiloxStream a_again(1, 0);
  const double first_a = a.normal();
  CHECK(first_a != b.normal());
  CHECK(first_a != c.normal());
  CHECK(first_a == a_again.normal());
}

TEST_CASE("fill_normal matches repeated normal calls") {
  PhiloxStream one_by_one(3, 4);
  PhiloxStream filled(3, 4);
  std::vector<double> values(7);
  filled.fill_normal(values.data(), 3);
  filled.fill_normal(values.data() + 3, 4);
  for (int i = 0; i < 7; ++i) {
    CAPTURE(i);
    CHECK(values[i] == one_by_one.normal());
  }
}

TEST_CASE("normal draws follow the Box-Muller mapping") {
  // Recomputes each block's two values with libm's log, cos and sin, as qd/philox.h documents
  // the mapping. Our kernels are within a few units in the last place of libm's, so 1e-14
  // relative to max(1, |z|) leaves a wide margin and still catches a wrong octant, sign or bit.
  // After a first value, whose pair leaves a spare, the chunks of 16 blocks start one value
  // off, and the 4,001 values of the second call leave a spare again.
  PhiloxStream stream(0x5eed, 7);
  PhiloxStream blocks(0x5eed, 7);
  std::vector<double> values(4002);
  stream.fill_normal(values.data(), 1);
  stream.fill_normal(values.data() + 1, 4001);
  for (std::size_t i = 0; i + 1 < values.size(); i += 2) {
    const PhiloxCounter block = blocks.next_block();
    const std::uint64_t bits1 = ((std::uint64_t{block[1]} << 32) | block[0]) >> 11;
    const std::uint64_t bits2 = ((std::uint64_t{block[3]} << 32) | block[2]) >> 11;
    const double u1 = static_cast<double>(bits1 + 1) / 9007199254740992.0;
    const double u2 = static_cast<double>(bits2) / 9007199254740992.0;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 6.283185307179586476925286766559 * u2;
    const double expected_cos = radius * std::cos(angle);
    const double expected_sin = radius * std::sin(angle);
    CAPTURE(i);
    CHECK(std::abs(values[i] - expected_cos) <= 1e-14 * std::max(1.0, std::abs(expected_cos)));
    CHECK(std::abs(values[i + 1] - expected_sin) <=
          1e-14 * std::max(1.0, std::abs(expected_sin)));
  }
}

TEST_CASE("normal draws have standard moments") {
  // With 200,000 draws the standard errors are 0.0022 for the mean, 0.0032 for the second
  // moment, 0.0087 for the third and 0.022 for the fourth. Each bound is about 5 of them.
  PhiloxStream stream(17, 0);
  const int n = 200000;
  double sum = 0.0;
  double sum2 = 0.0;
  double sum3 = 0.0;
  double sum4 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double z = stream.normal();
    REQUIRE(std::isfinite(z));
    sum += z;
    sum2 += z * z;
    sum3 += z * z * z;
    sum4 += z * z * z * z;
  }
  CHECK(std::abs(sum / n) < 0.011);
  CHECK(std::abs(sum2 / n - 1.0) < 0.016);
  CHECK(std::abs(sum3 / n) < 0.044);
  CHECK(std::abs(sum4 / n - 3.0) < 0.11);
}

TEST_CASE("uniform_below is uniform in range") {
  PhiloxStream stream(23, 0);
  CHECK_THROWS_AS(stream.uniform_below(0), std::invalid_argument);
  CHECK(stream.uniform_below(1) == 0);

  // 60,000 draws over 6 values: each count has mean 10,000 and standard deviation 91.
  std::vector<int> counts(6, 0);
  for (int i = 0; i < 60000; ++i) {
    const std::uint64_t value = stream.uniform_below(6);
    REQUIRE(value < 6);
    ++counts[value];
  }
  for (int v = 0; v < 6; ++v) {
    CAPTURE(v);
    CHECK(counts[v] > 9500);
    CHECK(counts[v] < 10500);
  }
}
