// The emitters of the device search as steps (see search_step.h): sampling, ranking, the CMA-ES
// update, the stop tests and restarts of E improvement emitters at once, with the semantics of
// qd::ImprovementEmitter and qd::CmaEs (qd/improvement_emitter.h, qd/cma_es.h).
//
// One iteration runs schedule_eigen(), the eigendecomposition of the due emitters (another
// block step, kernels/search_eigen_steps.h), sample(), the evaluation and the archive add, and
// then tell(). Each CMA-ES update names its equation in N. Hansen, "The CMA Evolution Strategy:
// A Tutorial", arXiv:1604.00772, as qd/cma_es.cpp does.
//
// Shape legend: E emitters, lambda solutions per emitter and iteration, n solution size,
// N = E * lambda batch rows, C archive cells. Batch row r is solution k = r % lambda of emitter
// e = r / lambda. Per-emitter matrices (n x n) are column-major and follow one another: entry
// (a, b) of emitter e is at [e * n * n + b * n + a].
#pragma once

#include <cstdint>

#include "kernels/philox_steps.h"
#include "kernels/search_emitter_view.h"
#include "kernels/search_step.h"

namespace lsi::search {

// Marks the emitters whose C is decomposed this iteration, as qd::CmaEs::ask does: more than
// lazy_gap_evals evaluations since the last decomposition. For those, eigeneval = counteval.
struct ScheduleEigenStep {
  EmitterView v;
  LSI_HD void operator()(long long e) const {
    const bool due = static_cast<double>(v.counteval[e] - v.eigeneval[e]) > v.lazy_gap_evals;
    v.due[e] = due ? 1 : 0;
    if (due) v.eigeneval[e] = v.counteval[e];
  }
};

// Eqs. 38-40, first part: z_k ~ N(0, I). One index per Philox block: pair p of emitter e fills
// draws 2p and 2p + 1 of z's (lambda x n) rows of e, so solution k uses draws k*n .. k*n + n - 1
// of the stream, as qd::CmaEs::ask fills z row by row.
struct NormalsStep {
  EmitterView v;
  LSI_HD void operator()(long long i) const {
    const long long pairs_per_emitter = static_cast<long long>(v.lambda) * v.n / 2;
    const long long e = i / pairs_per_emitter;
    const long long pair = i % pairs_per_emitter;
    const NormalPair normals =
        philox_normal_pair(v.seed, static_cast<std::uint64_t>(e),
                           v.block_index[e] + static_cast<unsigned long long>(pair));
    double* z = v.z + e * v.lambda * static_cast<long long>(v.n) + 2 * pair;
    z[0] = normals.first;
    z[1] = normals.second;
  }
};

// Eqs. 38-40, second part: x_k = mean + sigma * B (D .* z_k), or mean + sigma * z_k while the
// eigensystem is the identity, as qd::CmaEs::ask computes it. As qd::ImprovementEmitter::ask
// does, x is rounded to float for the evaluator, and samples keep the rounded value.
// One index per entry i of batch row r.
struct TransformStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long row = index / v.n;
    const int i = static_cast<int>(index % v.n);
    const int e = static_cast<int>(row / v.lambda);
    const double sigma = v.sigma[e];
    const double mean = v.mean[static_cast<long long>(e) * v.n + i];
    double x = 0.0;
    if (v.eigen_identity[e]) {
      x = sigma * v.z[index] + mean;
    } else {
      // y_i = sum_j (B_ij D_j) z_j, with B D rounded first as qd's BD matrix is.
      const double* z = v.z + row * v.n;
      const double* D = v.D + static_cast<long long>(e) * v.n;
      double y = 0.0;
      for (int j = 0; j < v.n; ++j) {
        y += (v.B[detail::matrix_index(v, e, i, j)] * D[j]) * z[j];
      }
      x = sigma * y + mean;
    }
    const float latent = static_cast<float>(x);
    v.latents[index] = latent;
    v.samples[index] = static_cast<double>(latent);
  }
};

// Moves each stream past the lambda * n / 2 blocks that NormalsStep used.
struct AdvanceStreamStep {
  EmitterView v;
  LSI_HD void operator()(long long e) const {
    v.block_index[e] += static_cast<unsigned long long>(v.lambda) * v.n / 2;
  }
};

// Ranks each batch row within its emitter, as qd::rank_batch does: row k's rank is the number
// of rows j of its emitter that come before it under the strict order "status descending (2imp
// only), then value descending, then the later index first".
// NOTE: qd::rank_batch rejects NaN values, and the archive writes none. Here a NaN ranks as
// -infinity, so that the ranks stay a permutation whatever the values.
struct RankStep {
  EmitterView v;
  const signed char* status;  // (N) add status of each batch row: 0, 1 or 2
  const double* value;        // (N) add value of each batch row

  LSI_HD static double ranked_value(double x) { return x != x ? -HUGE_VAL : x; }

  LSI_HD void operator()(long long row) const {
    const long long first = row - row % v.lambda;
    const int k = static_cast<int>(row - first);
    const bool two_stage = v.ranker == RankerKind::kTwoStageImprovement;
    const signed char status_k = status[row];
    const double value_k = ranked_value(value[row]);
    int rank = 0;
    for (int j = 0; j < v.lambda; ++j) {
      const signed char status_j = status[first + j];
      const double value_j = ranked_value(value[first + j]);
      bool before = false;
      if (two_stage && status_j != status_k) {
        before = status_j > status_k;
      } else if (value_j != value_k) {
        before = value_j > value_k;
      } else {
        before = j > k;
      }
      rank += before ? 1 : 0;
    }
    v.ranking[first + rank] = k;
  }
};

// Selects each emitter's parents in rank order, as qd::ImprovementEmitter::tell does: "filter"
// keeps the solutions with status > 0 and "mu" the best lambda / 2.
struct SelectParentsStep {
  EmitterView v;
  const signed char* status;  // (N)

  LSI_HD void operator()(long long e) const {
    const long long first = e * v.lambda;
    int n_entered = 0;
    for (int k = 0; k < v.lambda; ++k) n_entered += status[first + k] > 0 ? 1 : 0;
    v.n_entered[e] = n_entered;

    int n_parents = 0;
    if (v.selection_rule == SelectionRule::kMu) {
      n_parents = v.lambda / 2;
      for (int r = 0; r < n_parents; ++r) v.parents[first + r] = v.ranking[first + r];
    } else {
      for (int r = 0; r < v.lambda; ++r) {
        const int k = v.ranking[first + r];
        if (status[first + k] > 0) v.parents[first + n_parents++] = k;
      }
    }
    v.n_parents[e] = n_parents;
  }
};

// Recombination weights and learning rates for mu = n_parents[e], computed as
// qd::CmaEs::compute_parameters does. The weights are w_i = ln(mu + 1/2) - ln(i), normalised to
// sum to 1, and the rates are the tutorial's defaults with alpha_mu = 2.
struct WeightsStep {
  EmitterView v;
  LSI_HD void operator()(long long e) const {
    const int mu = v.n_parents[e];
    if (mu == 0) return;
    double* weights = v.weights + e * v.lambda;
    double sum = 0.0;
    for (int i = 0; i < mu; ++i) {
      weights[i] = detail::log_hd(mu + 0.5) - detail::log_hd(i + 1.0);
      sum += weights[i];
    }
    double squared_norm = 0.0;
    for (int i = 0; i < mu; ++i) {
      weights[i] /= sum;
      squared_norm += weights[i] * weights[i];
    }

    const double n = v.n;
    CmaRates r;
    r.mueff = 1.0 / squared_norm;
    r.cc = (4.0 + r.mueff / n) / (n + 4.0 + 2.0 * r.mueff / n);
    r.cs = (r.mueff + 2.0) / (n + r.mueff + 5.0);
    r.c1 = 2.0 / ((n + 1.3) * (n + 1.3) + r.mueff);
    const double cmu_formula =
        2.0 * (r.mueff - 2.0 + 1.0 / r.mueff) / ((n + 2.0) * (n + 2.0) + r.mueff);
    r.cmu = cmu_formula < 1.0 - r.c1 ? cmu_formula : 1.0 - r.c1;
    const double excess = detail::sqrt_hd((r.mueff - 1.0) / (n + 1.0)) - 1.0;
    r.damps = 1.0 + 2.0 * (excess > 0.0 ? excess : 0.0) + r.cs;
    v.rates[e] = r;
  }
};

// Selected steps y_i = (x_i - mean) / sigma of the parents, in parent order, stored as
// sqrt(w_i) y_i for the rank-mu update as qd does. One index per entry j of parent slot i of
// emitter e. Slots past n_parents[e] are skipped.
struct ParentStepsStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long slot = index / v.n;  // e * lambda + i
    const int j = static_cast<int>(index % v.n);
    const long long e = slot / v.lambda;
    const int i = static_cast<int>(slot % v.lambda);
    if (i >= v.n_parents[e]) return;
    const long long row = e * v.lambda + v.parents[slot];
    const double y = (v.samples[row * v.n + j] - v.mean[e * v.n + j]) / v.sigma[e];
    v.weighted_steps[index] = detail::sqrt_hd(v.weights[slot]) * y;
  }
};

// Eq. 41: y_w = sum_i w_i y_i, summed in parent order, with y_i recomputed from the samples as
// ParentStepsStep computes it. One index per entry of y_w (E x n). It runs before MeanStep.
struct WeightedStepStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    const int j = static_cast<int>(index % v.n);
    const int mu = v.n_parents[e];
    const double mean = v.mean[index];
    const double sigma = v.sigma[e];
    double y_w = 0.0;
    for (int i = 0; i < mu; ++i) {
      const long long row = e * v.lambda + v.parents[e * v.lambda + i];
      const double y = (v.samples[row * v.n + j] - mean) / sigma;
      y_w += v.weights[e * v.lambda + i] * y;
    }
    v.y_w[index] = y_w;
  }
};

// Eq. 42: mean <- mean + c_m * sigma * y_w, with c_m = 1.
struct MeanStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    if (v.n_parents[e] == 0) return;
    v.mean[index] += v.sigma[e] * v.y_w[index];
  }
};

// First half of C^(-1/2) y_w = B (D^-1 .* (B^T y_w)): entry j of D^-1 .* (B^T y_w), the dot
// product of column j of B with y_w.
struct ScaledBtYwStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    const int j = static_cast<int>(index % v.n);
    if (v.n_parents[e] == 0 || v.eigen_identity[e]) return;
    const double* y_w = v.y_w + e * v.n;
    double bt_y_w = 0.0;
    for (int i = 0; i < v.n; ++i) {
      bt_y_w += v.B[detail::matrix_index(v, static_cast<int>(e), i, j)] * y_w[i];
    }
    v.scaled_bt_y_w[index] = bt_y_w / v.D[index];
  }
};

// Second half: entry i of B (D^-1 .* (B^T y_w)), or y_w itself while B = I and D = 1.
struct InvSqrtCYwStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    const int i = static_cast<int>(index % v.n);
    if (v.n_parents[e] == 0) return;
    if (v.eigen_identity[e]) {
      v.invsqrtC_y_w[index] = v.y_w[index];
      return;
    }
    const double* scaled = v.scaled_bt_y_w + e * v.n;
    double sum = 0.0;
    for (int j = 0; j < v.n; ++j) {
      sum += v.B[detail::matrix_index(v, static_cast<int>(e), i, j)] * scaled[j];
    }
    v.invsqrtC_y_w[index] = sum;
  }
};

// Eq. 43: ps <- (1 - cs) ps + sqrt(cs (2 - cs) mueff) C^(-1/2) y_w.
struct PsStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    if (v.n_parents[e] == 0) return;
    const CmaRates r = v.rates[e];
    v.ps[index] = (1.0 - r.cs) * v.ps[index] +
                  detail::sqrt_hd(r.cs * (2.0 - r.cs) * r.mueff) * v.invsqrtC_y_w[index];
  }
};

// Counts the batch's lambda evaluations (every emitter, with or without parents) and computes
// ||ps|| and hsig, which stalls the pc update while ||ps|| is large:
//   ||ps|| / sqrt(1 - (1 - cs)^(2 (g + 1))) < (1.4 + 2 / (n + 1)) chiN,
// with g + 1 = counteval / lambda after this batch. Also marks C finite for CovarianceStep.
struct HsigStep {
  EmitterView v;
  LSI_HD void operator()(long long e) const {
    v.counteval[e] += v.lambda;
    v.C_finite[e] = 1;
    if (v.n_parents[e] == 0) return;
    const double* ps = v.ps + e * v.n;
    double squared_norm = 0.0;
    for (int i = 0; i < v.n; ++i) squared_norm += ps[i] * ps[i];
    const double ps_norm = detail::sqrt_hd(squared_norm);
    const double cs = v.rates[e].cs;
    const double generations = static_cast<double>(v.counteval[e]) / v.lambda;
    const double ps_bias = detail::sqrt_hd(1.0 - detail::pow_hd(1.0 - cs, 2.0 * generations));
    v.ps_norm[e] = ps_norm;
    v.hsig[e] = (ps_norm / ps_bias < (1.4 + 2.0 / (v.n + 1.0)) * v.chiN) ? 1.0 : 0.0;
  }
};

// Eq. 45: pc <- (1 - cc) pc + hsig sqrt(cc (2 - cc) mueff) y_w.
struct PcStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    if (v.n_parents[e] == 0) return;
    const CmaRates r = v.rates[e];
    v.pc[index] = (1.0 - r.cc) * v.pc[index] +
                  v.hsig[e] * detail::sqrt_hd(r.cc * (2.0 - r.cc) * r.mueff) * v.y_w[index];
  }
};

// Eq. 47 with positive weights (sum w_i = 1), one index per entry (a, b) of C:
//   C <- (1 + c1 delta(hsig) - c1 - cmu) C + c1 pc pc^T + cmu sum_i w_i y_i y_i^T,
// with delta(hsig) = (1 - hsig) cc (2 - cc) and w_i y_i y_i^T formed from sqrt(w_i) y_i, as qd
// does. Every emitter's C, updated or not, is checked for NaN and infinity into C_finite.
// TODO: the rank-mu sum reads both parent steps from global memory for each entry, E n^2 mu
// products in all. If a GPU profile shows this step to matter, compute it as a tiled or batched
// product (cuBLAS's batched dsyrk), which sums in another order but within the 1e-12 tests.
struct CovarianceStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long n_squared = static_cast<long long>(v.n) * v.n;
    const long long e = index / n_squared;
    const int b = static_cast<int>(index % n_squared / v.n);
    const int a = static_cast<int>(index % v.n);
    const int mu = v.n_parents[e];
    double C = v.C[index];
    if (mu > 0) {
      const CmaRates r = v.rates[e];
      const double delta_hsig = (1.0 - v.hsig[e]) * r.cc * (2.0 - r.cc);
      const double* pc = v.pc + e * v.n;
      double rank_mu = 0.0;
      for (int i = 0; i < mu; ++i) {
        const double* weighted_step = v.weighted_steps + (e * v.lambda + i) * v.n;
        rank_mu += weighted_step[a] * weighted_step[b];
      }
      C = C * (1.0 + r.c1 * delta_hsig - r.c1 - r.cmu) + r.c1 * (pc[a] * pc[b]) + r.cmu * rank_mu;
      v.C[index] = C;
    }
    if (!detail::is_finite(C)) atomic_min(&v.C_finite[e], 0);
  }
};

// Eq. 44: sigma <- sigma exp((cs / damps) (||ps|| / chiN - 1)).
struct SigmaStep {
  EmitterView v;
  LSI_HD void operator()(long long e) const {
    if (v.n_parents[e] == 0) return;
    const CmaRates r = v.rates[e];
    v.sigma[e] *= detail::exp_hd((r.cs / r.damps) * (v.ps_norm[e] / v.chiN - 1.0));
  }
};

// The stop tests of qd::CmaEs::check_stop, in its order, on the ranking values that
// qd::ImprovementEmitter::tell builds: (status, value) per ranked solution for "2imp", the value
// alone for "imp". An emitter restarts when a test fires, or under "no_improvement" when no
// solution entered. A restarting emitter records the reason (kNone for the no-improvement
// rule), counts the restart, draws its new mean's elite with uniform_below(counters[0]) on its
// stream (x0 when the archive is empty) and resets its scalars as qd::CmaEs::reset does.
struct StopStep {
  EmitterView v;
  const signed char* status;  // (N)
  const double* value;        // (N)

  LSI_HD CmaStopReason stop_reason(long long e) const {
    const double sigma = v.sigma[e];
    const double* mean = v.mean + e * v.n;
    const double* D = v.D + e * v.n;
    bool finite = detail::is_finite(sigma) && v.C_finite[e] != 0;
    for (int i = 0; i < v.n; ++i) finite = finite && detail::is_finite(mean[i]);
    for (int i = 0; i < v.n; ++i) finite = finite && detail::is_finite(D[i]);
    if (!finite) return CmaStopReason::kNonFinite;

    double max_D = D[0];
    double min_D = D[0];
    for (int i = 1; i < v.n; ++i) {
      max_D = D[i] > max_D ? D[i] : max_D;
      min_D = D[i] < min_D ? D[i] : min_D;
    }
    const double ratio = max_D / min_D;
    if (ratio * ratio > kMaxConditionNumber) return CmaStopReason::kConditionNumber;
    if (sigma * max_D < kMinStepSize) return CmaStopReason::kStepTooSmall;

    // The norm of the difference between the best and the worst ranking values.
    const long long best = e * v.lambda + v.ranking[e * v.lambda];
    const long long worst = e * v.lambda + v.ranking[e * v.lambda + v.lambda - 1];
    const double value_difference = value[best] - value[worst];
    double squared_norm = value_difference * value_difference;
    if (v.ranker == RankerKind::kTwoStageImprovement) {
      const double status_difference =
          static_cast<double>(status[best]) - static_cast<double>(status[worst]);
      squared_norm = status_difference * status_difference + squared_norm;
    }
    if (detail::sqrt_hd(squared_norm) < kFlatRankingTolerance) {
      return CmaStopReason::kFlatRanking;
    }
    return CmaStopReason::kNone;
  }

  LSI_HD void operator()(long long e) const {
    const CmaStopReason reason = stop_reason(e);
    const bool no_improvement =
        v.restart_rule == RestartRule::kNoImprovement && v.n_entered[e] == 0;
    const bool restart = reason != CmaStopReason::kNone || no_improvement;
    v.restart[e] = restart ? 1 : 0;
    if (!restart) return;

    v.last_stop_reason[e] = static_cast<int>(reason);
    v.restarts[e] += 1;
    const unsigned long long n_occupied = v.counters[0];
    if (n_occupied == 0) {
      v.restart_cell[e] = -1;
    } else {
      const unsigned long long slot = philox_uniform_below(v.seed, static_cast<std::uint64_t>(e),
                                                           n_occupied, &v.block_index[e]);
      v.restart_cell[e] = v.occupied_cells[slot];
    }
    v.sigma[e] = v.sigma0;
    v.counteval[e] = 0;
    v.eigeneval[e] = 0;
    v.eigen_identity[e] = 1;
  }
};

// Resets the vectors of the restarting emitters as qd::CmaEs::reset does: mean = the drawn
// elite's solution (or x0), pc = ps = 0, D = 1.
struct ResetVectorsStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long e = index / v.n;
    const int i = static_cast<int>(index % v.n);
    if (!v.restart[e]) return;
    const long long cell = v.restart_cell[e];
    v.mean[index] = cell < 0 ? v.x0[i] : static_cast<double>(v.solutions[cell * v.n + i]);
    v.pc[index] = 0.0;
    v.ps[index] = 0.0;
    v.D[index] = 1.0;
  }
};

// Resets C and B of the restarting emitters to the identity.
struct ResetMatricesStep {
  EmitterView v;
  LSI_HD void operator()(long long index) const {
    const long long n_squared = static_cast<long long>(v.n) * v.n;
    const long long e = index / n_squared;
    if (!v.restart[e]) return;
    const double identity = index % n_squared / v.n == index % v.n ? 1.0 : 0.0;
    v.C[index] = identity;
    v.B[index] = identity;
  }
};

// Marks the emitters due for an eigendecomposition this iteration (ScheduleEigenStep). Run it
// before the eigendecomposition step and sample().
template <typename Executor>
void schedule_eigen(const Executor& executor, const EmitterView& v) {
  executor.run_flat(ScheduleEigenStep{v}, v.n_emitters);
}

// Samples every emitter's lambda solutions into latents and samples, and advances the streams.
template <typename Executor>
void sample(const Executor& executor, const EmitterView& v) {
  check_emitter_view(v);
  const long long n_rows = static_cast<long long>(v.n_emitters) * v.lambda;
  executor.run_flat(NormalsStep{v}, n_rows * v.n / 2);

  executor.run_flat(TransformStep{v}, n_rows * v.n);

  executor.run_flat(AdvanceStreamStep{v}, v.n_emitters);
}

// Ranks the batch, updates every emitter's CMA-ES and restarts the emitters that stop, from the
// archive's verdict on each batch row: status (N) and value (N).
template <typename Executor>
void tell(const Executor& executor, const EmitterView& v, const signed char* status,
          const double* value) {
  check_emitter_view(v);
  if (status == nullptr || value == nullptr) {
    throw std::invalid_argument("search::tell: status and value must not be null");
  }
  const long long n_rows = static_cast<long long>(v.n_emitters) * v.lambda;
  const long long n_entries = static_cast<long long>(v.n_emitters) * v.n;
  const long long n_matrix_entries = n_entries * v.n;
  executor.run_flat(RankStep{v, status, value}, n_rows);

  executor.run_flat(SelectParentsStep{v, status}, v.n_emitters);
  executor.run_flat(WeightsStep{v}, v.n_emitters);

  executor.run_flat(ParentStepsStep{v}, n_rows * v.n);
  executor.run_flat(WeightedStepStep{v}, n_entries);

  executor.run_flat(MeanStep{v}, n_entries);

  executor.run_flat(ScaledBtYwStep{v}, n_entries);
  executor.run_flat(InvSqrtCYwStep{v}, n_entries);
  executor.run_flat(PsStep{v}, n_entries);

  executor.run_flat(HsigStep{v}, v.n_emitters);
  executor.run_flat(PcStep{v}, n_entries);

  executor.run_flat(CovarianceStep{v}, n_matrix_entries);

  executor.run_flat(SigmaStep{v}, v.n_emitters);

  executor.run_flat(StopStep{v, status, value}, v.n_emitters);
  executor.run_flat(ResetVectorsStep{v}, n_entries);
  executor.run_flat(ResetMatricesStep{v}, n_matrix_entries);
}

}  // namespace lsi::search
