// Runs the device search's steps (see search_step.h) on the CPU, one index or one thread after
// another, for the tests that check the device search without a GPU.
#pragma once

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/search_step.h"

namespace lsi::search {

class HostExecutor {
 public:
  // With reverse_order set, indices and threads run from the last to the first. A correct step
  // gives the same result either way, since the GPU runs them in no fixed order.
  explicit HostExecutor(bool reverse_order = false) : reverse_order_(reverse_order) {}

  template <typename Step>
  void run_flat(const Step& step, long long n) const {
    for (long long k = 0; k < n; ++k) step(reverse_order_ ? n - 1 - k : k);
  }

  // Runs n_blocks blocks of Step::kThreads threads. Each block's shared memory starts as 0xFF
  // bytes, NaN as floats and doubles, because on a GPU it starts undefined: a phase that reads
  // what no earlier phase wrote tends to produce NaN.
  // Throws std::logic_error when the threads of a block disagree on the next phase, which on a
  // GPU would deadlock or skip a barrier.
  template <typename Step>
  void run_blocks(const Step& step, int n_blocks) const {
    std::vector<unsigned char> shared(step.shared_bytes());
    for (int block = 0; block < n_blocks; ++block) {
      std::fill(shared.begin(), shared.end(), static_cast<unsigned char>(0xFF));
      int phase = 0;
      while (phase != kBlockDone) {
        int next_phase = kBlockDone;
        for (int k = 0; k < Step::kThreads; ++k) {
          const int thread = reverse_order_ ? Step::kThreads - 1 - k : k;
          const int thread_next = step(phase, block, thread, shared.data());
          if (k > 0 && thread_next != next_phase) {
            throw std::logic_error("HostExecutor: threads of block " + std::to_string(block) +
                                   " disagree on the phase after phase " +
                                   std::to_string(phase));
          }
          next_phase = thread_next;
        }
        phase = next_phase;
      }
    }
  }

 private:
  bool reverse_order_;
};

}  // namespace lsi::search
