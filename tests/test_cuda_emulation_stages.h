// The LeNet-5 kernel's own stages (kernels/lenet5_stages.cuh), run on the CPU one thread after
// another, so that tests check the kernel's index math and shared-memory layout without a GPU.
//
// Shape legend: B batch, P pixels per image (784), K classes (10).
#pragma once

#include "kernels/lenet5.cuh"

namespace lsi_test {

// What lenet5_forward computes, with host pointers throughout: images01 (B x P, 16-byte
// aligned), log_probs (B x K) or null, objectives (B) or null. Each block's shared memory starts
// as NaN, so a stage that reads a value no earlier stage wrote tends to produce NaN. Within each
// stage the threads run in reverse order when reverse_threads is set. The results must not
// change, because a stage's threads may run in any order on the GPU.
void emulate_lenet5_forward(const lsi::LeNet5ConvParams& conv,
                            const lsi::LeNet5LinearWeights& linear, const float* images01,
                            int n_batch, int digit, float* log_probs, float* objectives,
                            bool reverse_threads);

}  // namespace lsi_test
