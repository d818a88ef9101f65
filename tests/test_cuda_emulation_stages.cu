// Runs the LeNet-5 kernel's stages on the CPU: blocks in turn, stages in order, and within a
// stage every thread of the block one after another (a barrier's effect, without a GPU).
#include "test_cuda_emulation_stages.h"

#include <limits>
#include <vector>

#include "kernels/lenet5_stages.cuh"

namespace lsi_test {

void emulate_lenet5_forward(const lsi::LeNet5ConvParams& conv,
                            const lsi::LeNet5LinearWeights& linear, const float* images01,
                            int n_batch, int digit, float* log_probs, float* objectives,
                            bool reverse_threads) {
  using namespace lsi::lenet5_stages;
  const LeNet5Batch batch{images01, n_batch, digit, log_probs, objectives};
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float4> shared(kSharedBytes / sizeof(float4));

  const int n_blocks = (n_batch + kTile - 1) / kTile;
  for (int block = 0; block < n_blocks; ++block) {
    for (float4& value : shared) value = make_float4(nan, nan, nan, nan);
    for (int stage = 0; stage < kNumStages; ++stage) {
      for (int i = 0; i < kThreads; ++i) {
        const int thread = reverse_threads ? kThreads - 1 - i : i;
        run_stage(stage, thread, block, conv, linear, batch, shared.data());
      }
    }
  }
}

}  // namespace lsi_test
