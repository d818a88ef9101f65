// One helper for comparing arrays against a reference with an absolute tolerance.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace lsi::test {

struct Comparison {
  double max_abs_error = 0.0;
  double max_rel_error = 0.0;
  size_t n_mismatches = 0;
  size_t n_non_finite = 0;
};

// Compares `actual` with `expected` element by element, prints the first few mismatching pairs
// and the largest absolute and relative errors under `label`, and returns the counts.
// Relative errors divide by max(|expected|, abs_tolerance), so values near zero do not swamp
// them. Non-finite values count as mismatches unless both sides are the same non-finite value.
inline Comparison compare_arrays(const std::string& label, const float* actual,
                                 const float* expected, size_t n, double abs_tolerance) {
  constexpr size_t kPrintedMismatches = 5;
  Comparison result;
  for (size_t i = 0; i < n; ++i) {
    const double a = actual[i];
    const double e = expected[i];
    if (!std::isfinite(a) || !std::isfinite(e)) {
      const bool same = (std::isnan(a) && std::isnan(e)) || a == e;
      if (!same) {
        ++result.n_non_finite;
        ++result.n_mismatches;
      }
      continue;
    }
    const double abs_error = std::fabs(a - e);
    result.max_abs_error = std::max(result.max_abs_error, abs_error);
    const double rel_error = abs_error / std::max(std::fabs(e), abs_tolerance);
    result.max_rel_error = std::max(result.max_rel_error, rel_error);
    if (abs_error > abs_tolerance) {
      if (result.n_mismatches < kPrintedMismatches) {
        std::printf("  %s[%zu]: got %.9g, expected %.9g\n", label.c_str(), i, a, e);
      }
      ++result.n_mismatches;
    }
  }
  std::printf("%s: %zu values, max abs error %.3g, max rel error %.3g, %zu over %.0e\n",
              label.c_str(), n, result.max_abs_error, result.max_rel_error,
              result.n_mismatches, abs_tolerance);
  return result;
}

inline Comparison compare_arrays(const std::string& label, const std::vector<float>& actual,
                                 const std::vector<float>& expected, double abs_tolerance) {
  if (actual.size() != expected.size()) {
    std::printf("%s: size %zu, expected %zu\n", label.c_str(), actual.size(), expected.size());
    Comparison wrong_size;
    wrong_size.n_mismatches = std::max(actual.size(), expected.size());
    return wrong_size;
  }
  return compare_arrays(label, actual.data(), expected.data(), actual.size(), abs_tolerance);
}

}  // namespace lsi::test
