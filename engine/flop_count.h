// Arithmetic per evaluation, for the benchmarks' GFLOP/s: multiply-adds of the generator and of
// LeNet-5 (convolutions and linear layers), two floating-point operations each. Activations,
// pooling and the measures are left out, being a small fraction of one percent.
#pragma once

namespace lsi {

constexpr double kGeneratorMacs = 128.0 * 256 + 256.0 * 512 + 512.0 * 1024 + 1024.0 * 784;
constexpr double kLeNet5Macs = 24.0 * 24 * 25 * 6 + 8.0 * 8 * 150 * 16 +
                               256.0 * 120 + 120.0 * 84 + 84.0 * 10;
constexpr double kFlopsPerEvaluation = 2.0 * (kGeneratorMacs + kLeNet5Macs);  // about 3.55 M

}  // namespace lsi
