// Philox4x32-10 rounds, stream counters and Box-Muller normal draws.
//
// Normal draws are computed kChunkBlocks Philox blocks at a time, in loops that the compiler
// vectorises: the ten rounds over 32-bit lanes, then the uniforms, the logarithm and the sine
// and cosine over double lanes. The logarithm and the sine and cosine are our own polynomial
// kernels (fdlibm's coefficients), because libm's scalar calls do not vectorise. Every lane
// runs the same operations, so a block's two values do not depend on where its chunk starts.
#include "qd/philox.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace lsi::qd {
namespace {

// Round multipliers and Weyl key increments from Salmon et al. (2011).
constexpr std::uint32_t kMultiplier0 = 0xD2511F53u;
constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57u;
constexpr std::uint32_t kKeyIncrement0 = 0x9E3779B9u;
constexpr std::uint32_t kKeyIncrement1 = 0xBB67AE85u;
constexpr int kRounds = 10;

// Philox blocks per vectorised chunk of normal draws; each block yields two values.
constexpr int kChunkBlocks = 16;

constexpr double kTwoPow26 = 67108864.0;
constexpr double kTwoPow52 = 4503599627370496.0;
constexpr double kTwoPowMinus50 = 1.0 / 1125899906842624.0;
constexpr double kTwoPowMinus53 = 1.0 / 9007199254740992.0;
constexpr double kPiOver4 = 0.78539816339744830961566084581988;

// 2^52 + v as a double has the bits kTwoPow52Bits | v for an integer 0 <= v < 2^52.
constexpr std::uint64_t kTwoPow52Bits = 0x4330000000000000ull;
constexpr std::uint64_t kOneBits = 0x3FF0000000000000ull;  // 1.0

std::uint64_t join_words(std::uint32_t high, std::uint32_t low) {
  return (static_cast<std::uint64_t>(high) << 32) | low;
}

// Natural logarithm of x in (0, 1], after fdlibm's e_log.c: x = 2^k (1 + f) with 1 + f in
// [sqrt(2) / 2, sqrt(2)), s = f / (2 + f) and log(1 + f) = f - f^2 / 2 + s (f^2 / 2 + R(s^2)),
// where R is fdlibm's minimax polynomial. fdlibm's special cases for tiny f are left out, so
// that every lane runs the same operations. tests/test_qd_philox.cpp checks the normal draws
// against libm's log to 1e-14.
void log_unit_interval(const double* x, double* out) {
  constexpr double kLn2High = 6.93147180369123816490e-01;
  constexpr double kLn2Low = 1.90821492927058770002e-10;
  constexpr double kLg1 = 6.666666666666735130e-01;
  constexpr double kLg2 = 3.999999999940941908e-01;
  constexpr double kLg3 = 2.857142874366239149e-01;
  constexpr double kLg4 = 2.222219843214978396e-01;
  constexpr double kLg5 = 1.818357216161805012e-01;
  constexpr double kLg6 = 1.531383769920937332e-01;
  constexpr double kLg7 = 1.479819860511658591e-01;
  constexpr std::uint64_t kMantissaMask = 0x000FFFFFFFFFFFFFull;
  // Added to the mantissa, it carries into bit 52 exactly when 1 + f >= sqrt(2).
  constexpr std::uint64_t kSqrt2Carry = 0x00095F6400000000ull;
  constexpr std::uint64_t kBit52 = 0x0010000000000000ull;
  constexpr double kTwoPow52PlusBias = kTwoPow52 + 1023.0;

  std::uint64_t bits[kChunkBlocks];
  std::uint64_t mantissa_bits[kChunkBlocks];
  std::uint64_t exponent_bits[kChunkBlocks];
  std::memcpy(bits, x, sizeof(bits));
  for (int i = 0; i < kChunkBlocks; ++i) {
    const std::uint64_t mantissa = bits[i] & kMantissaMask;
    const std::uint64_t carry = (mantissa + kSqrt2Carry) & kBit52;
    mantissa_bits[i] = mantissa | (kOneBits ^ carry);
    exponent_bits[i] = kTwoPow52Bits + (bits[i] >> 52) + (carry >> 52);
  }
  double one_plus_f[kChunkBlocks];
  double biased_k[kChunkBlocks];
  std::memcpy(one_plus_f, mantissa_bits, sizeof(one_plus_f));
  std::memcpy(biased_k, exponent_bits, sizeof(biased_k));

  for (int i = 0; i < kChunkBlocks; ++i) {
    const double k = biased_k[i] - kTwoPow52PlusBias;
    const double f = one_plus_f[i] - 1.0;
    const double s = f / (2.0 + f);
    const double z = s * s;
    const double w = z * z;
    const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
    const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
    const double r = t2 + t1;
    const double half_f_squared = 0.5 * f * f;
    out[i] = k * kLn2High - ((half_f_squared - (s * (half_f_squared + r) + k * kLn2Low)) - f);
  }
}

// Runs the ten Philox rounds on the counters of blocks first_block ..
// first_block + kChunkBlocks - 1 at once, in structure-of-arrays form: words[j][i] is word j of
// block first_block + i.
void philox_chunk(PhiloxKey key, std::uint64_t stream_id, std::uint64_t first_block,
                  std::uint32_t (&words)[4][kChunkBlocks]) {
  std::uint32_t(&w0)[kChunkBlocks] = words[0];
  std::uint32_t(&w1)[kChunkBlocks] = words[1];
  std::uint32_t(&w2)[kChunkBlocks] = words[2];
  std::uint32_t(&w3)[kChunkBlocks] = words[3];
  for (int i = 0; i < kChunkBlocks; ++i) {
    const std::uint64_t block = first_block + static_cast<std::uint64_t>(i);
    w0[i] = static_cast<std::uint32_t>(block);
    w1[i] = static_cast<std::uint32_t>(block >> 32);
    w2[i] = static_cast<std::uint32_t>(stream_id);
    w3[i] = static_cast<std::uint32_t>(stream_id >> 32);
  }
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kChunkBlocks; ++i) {
      const std::uint64_t product0 = static_cast<std::uint64_t>(kMultiplier0) * w0[i];
      const std::uint64_t product1 = static_cast<std::uint64_t>(kMultiplier1) * w2[i];
      const std::uint32_t next0 = static_cast<std::uint32_t>(product1 >> 32) ^ w1[i] ^ key[0];
      const std::uint32_t next2 = static_cast<std::uint32_t>(product0 >> 32) ^ w3[i] ^ key[1];
      w0[i] = next0;
      w1[i] = static_cast<std::uint32_t>(product1);
      w2[i] = next2;
      w3[i] = static_cast<std::uint32_t>(product0);
    }
    key[0] += kKeyIncrement0;
    key[1] += kKeyIncrement1;
  }
}

// Box-Muller inputs of kChunkBlocks blocks: u1, and the angle 2 pi u2 as an octant reduction.
struct BoxMullerInputs {
  double u1[kChunkBlocks];        // in (0, 1]
  double x[kChunkBlocks];         // in [0, pi / 4]
  double swap[kChunkBlocks];      // 1.0 where the octant swaps sine and cosine, else 0.0
  double cos_sign[kChunkBlocks];  // +-1.0
  double sin_sign[kChunkBlocks];  // +-1.0
};

// Computes u1 = ((w1:w0 >> 11) + 1) 2^-53 in (0, 1] and u2 = (w3:w2 >> 11) 2^-53 in [0, 1).
// 2 pi u2 is split into the octant q (the top 3 bits of u2) and the fraction f in [0, 1)
// inside it, mirrored in odd octants: the angle is q pi / 4 + x for even q and
// (q + 1) pi / 4 - x for odd q, with x = f pi / 4 or (1 - f) pi / 4. Octants 1, 2, 5 and 6
// swap sine and cosine; cosine is negative in octants 2-5 and sine in octants 4-7.
// Integers below 2^52 become doubles exactly through their bit patterns, and the flags become
// 0.0 / 1.0 or +-1.0, so that the selections are exact arithmetic without branches.
void box_muller_inputs(const std::uint32_t (&words)[4][kChunkBlocks], BoxMullerInputs& in) {
  constexpr std::uint64_t kLow26Bits = (1ull << 26) - 1;
  constexpr std::uint64_t kLow50Bits = (1ull << 50) - 1;
  std::uint64_t u1_high_bits[kChunkBlocks];
  std::uint64_t u1_low_bits[kChunkBlocks];
  std::uint64_t fraction_bits[kChunkBlocks];
  std::uint64_t odd_bits[kChunkBlocks];
  std::uint64_t swap_bits[kChunkBlocks];
  std::uint64_t cos_sign_bits[kChunkBlocks];
  std::uint64_t sin_sign_bits[kChunkBlocks];
  for (int i = 0; i < kChunkBlocks; ++i) {
    const std::uint64_t u1_integer = join_words(words[1][i], words[0][i]) >> 11;
    u1_high_bits[i] = kTwoPow52Bits | (u1_integer >> 26);
    u1_low_bits[i] = kTwoPow52Bits | (u1_integer & kLow26Bits);

    const std::uint64_t u2_integer = join_words(words[3][i], words[2][i]) >> 11;
    const std::uint64_t octant = u2_integer >> 50;
    fraction_bits[i] = kTwoPow52Bits | (u2_integer & kLow50Bits);
    odd_bits[i] = (0 - (octant & 1)) & kOneBits;
    swap_bits[i] = (0 - (((octant + 1) >> 1) & 1)) & kOneBits;
    cos_sign_bits[i] = kOneBits | ((((octant + 2) >> 2) & 1) << 63);
    sin_sign_bits[i] = kOneBits | (((octant >> 2) & 1) << 63);
  }

  double u1_high[kChunkBlocks];
  double u1_low[kChunkBlocks];
  double fraction[kChunkBlocks];
  double odd[kChunkBlocks];
  std::memcpy(u1_high, u1_high_bits, sizeof(u1_high));
  std::memcpy(u1_low, u1_low_bits, sizeof(u1_low));
  std::memcpy(fraction, fraction_bits, sizeof(fraction));
  std::memcpy(odd, odd_bits, sizeof(odd));
  std::memcpy(in.swap, swap_bits, sizeof(in.swap));
  std::memcpy(in.cos_sign, cos_sign_bits, sizeof(in.cos_sign));
  std::memcpy(in.sin_sign, sin_sign_bits, sizeof(in.sin_sign));
  for (int i = 0; i < kChunkBlocks; ++i) {
    const double high = u1_high[i] - kTwoPow52;
    const double low = u1_low[i] - kTwoPow52;
    in.u1[i] = (high * kTwoPow26 + low + 1.0) * kTwoPowMinus53;
    const double f = (fraction[i] - kTwoPow52) * kTwoPowMinus50;
    in.x[i] = (f + odd[i] * (1.0 - 2.0 * f)) * kPiOver4;
  }
}

// Fills out[0 .. 2 kChunkBlocks) with the normal draws of blocks first_block ..
// first_block + kChunkBlocks - 1 of one stream, two per block in block order.
void normal_chunk(PhiloxKey key, std::uint64_t stream_id, std::uint64_t first_block,
                  double* out) {
  std::uint32_t words[4][kChunkBlocks];
  philox_chunk(key, stream_id, first_block, words);
  BoxMullerInputs in;
  box_muller_inputs(words, in);
  double log_u1[kChunkBlocks];
  log_unit_interval(in.u1, log_u1);

  // sin and cos on [0, pi / 4] with fdlibm's k_sin.c and k_cos.c minimax polynomials.
  constexpr double kS1 = -1.66666666666666324348e-01;
  constexpr double kS2 = 8.33333333332248946124e-03;
  constexpr double kS3 = -1.98412698298579493134e-04;
  constexpr double kS4 = 2.75573137070700676789e-06;
  constexpr double kS5 = -2.50507602534068634195e-08;
  constexpr double kS6 = 1.58969099521155010221e-10;
  constexpr double kC1 = 4.16666666666666019037e-02;
  constexpr double kC2 = -1.38888888888741095749e-03;
  constexpr double kC3 = 2.48015872894767294178e-05;
  constexpr double kC4 = -2.75573143513906633035e-07;
  constexpr double kC5 = 2.08757232129817482790e-09;
  constexpr double kC6 = -1.13596475577881948265e-11;
  for (int i = 0; i < kChunkBlocks; ++i) {
    const double x = in.x[i];
    const double z = x * x;
    const double sin_x =
        x + x * z * (kS1 + z * (kS2 + z * (kS3 + z * (kS4 + z * (kS5 + z * kS6)))));
    const double r = z * (kC1 + z * (kC2 + z * (kC3 + z * (kC4 + z * (kC5 + z * kC6)))));
    const double half_z = 0.5 * z;
    const double w = 1.0 - half_z;
    const double cos_x = w + (((1.0 - w) - half_z) + z * r);

    const double swap = in.swap[i];
    const double cos_angle = swap * sin_x + (1.0 - swap) * cos_x;
    const double sin_angle = swap * cos_x + (1.0 - swap) * sin_x;
    const double radius = std::sqrt(-2.0 * log_u1[i]);
    out[2 * i] = radius * (in.cos_sign[i] * cos_angle);
    out[2 * i + 1] = radius * (in.sin_sign[i] * sin_angle);
  }
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
  ++block_index_;
  return philox4x32_10(counter, key());
}

PhiloxKey PhiloxStream::key() const {
  return {static_cast<std::uint32_t>(seed_), static_cast<std::uint32_t>(seed_ >> 32)};
}

double PhiloxStream::normal() {
  double value = 0.0;
  fill_normal(&value, 1);
  return value;
}

void PhiloxStream::fill_normal(double* out, std::int64_t n) {
  std::int64_t i = 0;
  if (n > 0 && has_spare_normal_) {
    out[i++] = spare_normal_;
    has_spare_normal_ = false;
  }

  // Whole chunks go straight to out; the last, partial chunk goes through a buffer, and the
  // second value of its last block becomes the spare when n - i is odd.
  constexpr std::int64_t kChunkValues = 2 * kChunkBlocks;
  while (n - i >= kChunkValues) {
    normal_chunk(key(), stream_id_, block_index_, out + i);
    block_index_ += kChunkBlocks;
    i += kChunkValues;
  }
  const std::int64_t n_left = n - i;
  if (n_left > 0) {
    double chunk[kChunkValues];
    normal_chunk(key(), stream_id_, block_index_, chunk);
    std::copy(chunk, chunk + n_left, out + i);
    block_index_ += static_cast<std::uint64_t>((n_left + 1) / 2);
    if (n_left % 2 == 1) {
      spare_normal_ = chunk[n_left];
      has_spare_normal_ = true;
    }
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
