// The archive's statistics on the device, for the progress rows of a run: one block sums the
// elites' objectives and finds the best, so the host reads back a few numbers, not the archive.
#pragma once

#include <cmath>

#include "kernels/search_step.h"

namespace lsi::search {

// The numbers of a progress row, read back in one copy.
struct SearchSnapshotData {
  long long iterations_done;
  long long num_elites;
  long long restarts;
  double qd_score;  // sum of the elites' objectives
  double obj_max;   // best objective; unspecified when num_elites is 0
};

struct ArchiveStatsStep {
  static constexpr int kThreads = 256;

  const long long* occupied_cells;       // (C) cells in first-fill order
  const unsigned long long* n_occupied;  // (1) number of entries of occupied_cells in use
  const double* objectives;              // (C) per-cell objectives
  const long long* restarts;             // (E) restarts per emitter
  int n_emitters;                        // E
  const long long* iteration;            // (1) the next iteration's number, from 1
  SearchSnapshotData* out;               // (1)

  struct Shared {
    double sums[kThreads];
    double maxima[kThreads];
  };

  unsigned long shared_bytes() const { return sizeof(Shared); }

  // Phase 0: each thread reduces a strided share of the elites. Phase 1: thread 0 combines the
  // shares in thread order, so the sum does not depend on scheduling.
  LSI_HD int operator()(int phase, int /*block*/, int thread, unsigned char* shared_raw) const {
    Shared& shared = *reinterpret_cast<Shared*>(shared_raw);
    const long long n_elites = static_cast<long long>(*n_occupied);
    if (phase == 0) {
      double sum = 0.0;
      double maximum = -HUGE_VAL;
      for (long long k = thread; k < n_elites; k += kThreads) {
        const double objective = objectives[occupied_cells[k]];
        sum += objective;
        maximum = objective > maximum ? objective : maximum;
      }
      shared.sums[thread] = sum;
      shared.maxima[thread] = maximum;
      return 1;
    }
    if (thread == 0) {
      SearchSnapshotData data{};
      data.iterations_done = *iteration - 1;
      data.num_elites = n_elites;
      data.obj_max = -HUGE_VAL;
      for (int t = 0; t < kThreads; ++t) {
        data.qd_score += shared.sums[t];
        data.obj_max = shared.maxima[t] > data.obj_max ? shared.maxima[t] : data.obj_max;
      }
      for (int e = 0; e < n_emitters; ++e) data.restarts += restarts[e];
      *out = data;
    }
    return kBlockDone;
  }
};

}  // namespace lsi::search
