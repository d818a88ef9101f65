// Tick choice for linear axes: "nice" steps of 1, 2, 2.5 or 5 times a power of ten.
#include "app/plot_ticks.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace lsi {

AxisTicks choose_ticks(double low, double high, int n_ticks_target) {
  if (!std::isfinite(low) || !std::isfinite(high) || !(low < high)) {
    throw std::invalid_argument("invalid axis range [" + std::to_string(low) + ", " +
                                std::to_string(high) + "]: expected finite low < high");
  }
  if (n_ticks_target < 2) {
    n_ticks_target = 2;
  }

  // Round the raw step up to the next nice multiple of its power of ten.
  const double raw_step = (high - low) / n_ticks_target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw_step)));
  const std::array<double, 5> factors = {1.0, 2.0, 2.5, 5.0, 10.0};
  double step = magnitude * factors.back();
  for (double factor : factors) {
    if (factor * magnitude >= raw_step * (1.0 - 1e-9)) {
      step = factor * magnitude;
      break;
    }
  }

  // Emit every multiple of the step inside the range, with a little slack for rounding.
  const double slack = step * 1e-9;
  const double first_multiple = std::ceil((low - slack) / step);
  const int decimals = decimals_for_step(step);
  AxisTicks ticks;
  for (double k = first_multiple; k * step <= high + slack; k += 1.0) {
    const double value = k * step;
    ticks.values.push_back(value);
    ticks.labels.push_back(format_tick(value, decimals));
  }
  return ticks;
}

int decimals_for_step(double step) {
  step = std::fabs(step);
  if (!std::isfinite(step) || step == 0.0) {
    return 0;
  }

  constexpr int kMaxDecimals = 8;
  for (int decimals = 0; decimals < kMaxDecimals; ++decimals) {
    const double scaled = step * std::pow(10.0, decimals);
    const bool exact = std::fabs(scaled - std::round(scaled)) <= 1e-6 * scaled;
    if (exact || scaled >= 5.0) {
      return decimals;
    }
  }
  return kMaxDecimals;
}

std::string format_tick(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  std::string text = buffer;

  // "-0.00" has only zero digits after the sign: print it without the sign.
  if (text.size() > 1 && text[0] == '-' && text.find_first_not_of("0.", 1) == std::string::npos) {
    text.erase(0, 1);
  }
  return text;
}

}  // namespace lsi
