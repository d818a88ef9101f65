// The arithmetic that the CUDA backend's matrix products use.
#pragma once

#include <string>

namespace lsi {

enum class MathPrecision {
  kFp32,  // plain single precision, the CPU engine's arithmetic (the default)
  kTf32,  // tensor cores with TF32 inputs (10-bit mantissa) and FP32 accumulation
};

// "fp32" or "tf32".
std::string to_string(MathPrecision precision);

// Parses "fp32" or "tf32". Throws std::invalid_argument naming any other value.
MathPrecision parse_math_precision(const std::string& name);

}  // namespace lsi
