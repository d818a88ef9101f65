// Names of the CUDA backend's precisions.
#include "kernels/math_precision.h"

#include <stdexcept>

namespace lsi {

std::string to_string(MathPrecision precision) {
  switch (precision) {
    case MathPrecision::kFp32:
      return "fp32";
    case MathPrecision::kTf32:
      return "tf32";
  }
  throw std::logic_error("to_string: unknown MathPrecision value");
}

MathPrecision parse_math_precision(const std::string& name) {
  if (name == "fp32") return MathPrecision::kFp32;
  if (name == "tf32") return MathPrecision::kTf32;
  throw std::invalid_argument("unknown precision '" + name + "': use fp32 or tf32");
}

}  // namespace lsi
